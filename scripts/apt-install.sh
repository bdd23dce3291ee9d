#!/bin/sh
# apt-install.sh WHO PACKAGE...: installs Debian packages with apt-get, as root or through
# `sudo -n` (never waiting for a password: the tests run the install scripts unattended).
# WHO names the calling script in messages. Exits non-zero when that cannot be done here.
set -eu

WHO="$1"
shift
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$WHO: no apt-get here; install $* yourself" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "$WHO: not root and no sudo; cannot install $*" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y "$@"
