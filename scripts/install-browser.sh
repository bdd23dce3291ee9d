#!/bin/sh
# Installs the headless browser the UI's end-to-end tests drive (tests/e2e/test_ui_browser.py):
# Debian's Chromium and its matching chromedriver. Nothing is downloaded outside the system's
# package manager; Playwright is only told where this browser is (never `playwright install`).
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get here; install Chromium yourself (expected at /usr/bin/chromium)" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"  # never wait for a password (the tests run this unattended)
    else
        echo "install-browser: not root and no sudo; cannot install chromium" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium chromium-driver
test -x /usr/bin/chromium
