#!/bin/sh
# Installs the headless browser the UI's end-to-end tests drive (tests/e2e/test_ui_browser.py):
# Debian's Chromium and its matching chromedriver. Nothing is downloaded outside the system's
# package manager; Playwright is only told where this browser is (never `playwright install`).
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
sh "$(dirname "$0")/apt-install.sh" install-browser chromium chromium-driver
test -x /usr/bin/chromium
