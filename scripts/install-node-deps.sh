#!/bin/sh
# Installs the Node.js test project of tests/contract/js (the official seven.io JavaScript client
# and undici, pinned in its package-lock.json) with `npm ci`, for tests/contract/test_client_seven_js.py.
# Only when node or npm is missing does it install Debian's nodejs and npm with apt-get first.
# Packages come from the npm registry configured for this machine's npm; nothing else is downloaded.
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(dirname "$HERE")/tests/contract/js"

if ! command -v node >/dev/null 2>&1; then
    sh "$HERE/apt-install.sh" install-node-deps nodejs npm
elif ! command -v npm >/dev/null 2>&1; then
    sh "$HERE/apt-install.sh" install-node-deps npm
fi

cd "$PROJECT"
npm ci --no-audit --no-fund --loglevel=error
