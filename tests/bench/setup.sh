#!/bin/sh
# Installs what the benchmarks compare against or drive with, each step optional:
# - wrk (the HTTP load generator bench_send_sms.py prefers) through apt-get, if it is missing;
#   without it the benchmark falls back to its own Python load generator.
# - Prism (@stoplight/prism-cli, pinned: 5.15 and later need Node >= 24) into
#   tests/bench/node_modules with npm, never globally; without it bench_send_sms.py leaves the
#   Prism rows out. Needs node and npm on PATH.
# - WireMock (the npm package `wiremock`, which ships the standalone jar) into the same
#   tests/bench/node_modules, and a Java runtime (Debian's default-jre-headless) if `java` is
#   missing; without them bench_send_sms.py leaves the WireMock rows out.
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

# Prism and WireMock are installed by one npm command: npm removes from node_modules what the
# command does not name, so installing one of them alone would remove the other.
PRISM="$HERE/node_modules/.bin/prism"
WIREMOCK_JAR="$HERE/node_modules/wiremock/build/wiremock-standalone-$WIREMOCK_VERSION.jar"
if [ -x "$PRISM" ] && [ "$("$PRISM" --version 2>/dev/null)" = "$PRISM_VERSION" ] && [ -f "$WIREMOCK_JAR" ]; then
    echo "prism $PRISM_VERSION already installed: $PRISM"
    echo "wiremock $WIREMOCK_VERSION already installed: $WIREMOCK_JAR"
elif ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: Prism and WireMock not installed; bench_send_sms.py will leave their rows out" >&2
else
    # --no-save/--no-package-lock: nothing but node_modules/ is written (it is git-ignored).
    npm install --prefix "$HERE" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "@stoplight/prism-cli@$PRISM_VERSION" "wiremock@$WIREMOCK_VERSION"
    if [ -x "$PRISM" ]; then
        echo "prism installed: $PRISM ($("$PRISM" --version))"
    else
        echo "could not install Prism; bench_send_sms.py will leave the Prism rows out" >&2
    fi
    if [ -f "$WIREMOCK_JAR" ]; then
        echo "wiremock installed: $WIREMOCK_JAR"
    else
        echo "could not install WireMock; bench_send_sms.py will leave the WireMock rows out" >&2
    fi
fi

if command -v java >/dev/null 2>&1; then
    echo "java already installed: $(command -v java)"
elif $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends default-jre-headless; then
    echo "java installed: $(command -v java)"
else
    echo "could not install a Java runtime; bench_send_sms.py will leave the WireMock rows out" >&2
fi
exit 0
