#!/bin/sh
# Installs the Node.js test project of tests/contract/js (the official seven.io JavaScript client
# and undici, pinned in its package-lock.json) with `npm ci`, for tests/contract/test_client_seven_js.py.
# Only when node or npm is missing does it install Debian's nodejs and npm with apt-get first.
# Packages come from the npm registry configured for this machine's npm; nothing else is downloaded.
set -eu

PROJECT="$(cd "$(dirname "$0")/.." && pwd)/tests/contract/js"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-node-deps: node/npm missing and no apt-get here; install Node.js 18.17 or newer with npm" >&2
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO="sudo -n"  # never wait for a password (the tests run this unattended)
        else
            echo "install-node-deps: node/npm missing, not root and no sudo; cannot install them" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    if command -v node >/dev/null 2>&1; then
        $SUDO apt-get install -y npm
    else
        $SUDO apt-get install -y nodejs npm
    fi
fi

cd "$PROJECT"
npm ci --no-audit --no-fund --loglevel=error
