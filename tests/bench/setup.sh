#!/bin/sh
# Installs what the benchmarks compare against or drive with, each step optional:
# - wrk (the HTTP load generator bench_send_sms.py prefers) through apt-get, if it is missing;
#   without it the benchmark falls back to its own Python load generator.
# - Prism (@stoplight/prism-cli, pinned: 5.15 and later need Node >= 24) into
#   tests/bench/node_modules with npm, never globally; without it bench_send_sms.py leaves the
#   Prism rows out. Needs node and npm on PATH.
# - WireMock (npm package `wiremock`, which ships the standalone jar) the same way; it runs on
#   Java (17 or later: Debian's default-jre-headless); without both, the WireMock rows are left out.
HERE=$(cd "$(dirname "$0")" && pwd)
PRISM_VERSION=5.14.2
WIREMOCK_VERSION=3.13.2

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

if command -v wrk >/dev/null 2>&1; then
    echo "wrk already installed: $(command -v wrk)"
elif $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends wrk; then
    echo "wrk installed: $(command -v wrk)"
else
    echo "could not install wrk; bench_send_sms.py will use its Python load generator" >&2
fi

PRISM="$HERE/node_modules/.bin/prism"
if [ -x "$PRISM" ] && [ "$("$PRISM" --version 2>/dev/null)" = "$PRISM_VERSION" ]; then
    echo "prism $PRISM_VERSION already installed: $PRISM"
elif ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: Prism not installed; bench_send_sms.py will leave the Prism rows out" >&2
else
    # --no-save/--no-package-lock: nothing but node_modules/ is written (it is git-ignored).
    if npm install --prefix "$HERE" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "@stoplight/prism-cli@$PRISM_VERSION"; then
        echo "prism installed: $PRISM ($("$PRISM" --version))"
    else
        echo "could not install Prism; bench_send_sms.py will leave the Prism rows out" >&2
    fi
fi
if ls "$HERE"/node_modules/wiremock/build/wiremock-standalone-"$WIREMOCK_VERSION".jar >/dev/null 2>&1; then
    echo "WireMock $WIREMOCK_VERSION already installed"
elif ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: WireMock not installed; bench_send_sms.py will leave the WireMock rows out" >&2
elif npm install --prefix "$HERE" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "wiremock@$WIREMOCK_VERSION"; then
    echo "WireMock installed: $(ls "$HERE"/node_modules/wiremock/build/*.jar)"
else
    echo "could not install WireMock; bench_send_sms.py will leave the WireMock rows out" >&2
fi
if ! command -v java >/dev/null 2>&1; then
    echo "java not found (apt-get install default-jre-headless): bench_send_sms.py will leave the WireMock rows out" >&2
fi
exit 0
