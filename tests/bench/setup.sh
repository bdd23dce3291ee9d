#!/bin/sh
# Install wrk (the HTTP load generator bench_send_sms.py prefers) through apt-get if it is missing.
# Failure is tolerated: without wrk the benchmark falls back to its own Python load generator.
if command -v wrk >/dev/null 2>&1; then
    echo "wrk already installed: $(command -v wrk)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi
if $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends wrk; then
    echo "wrk installed: $(command -v wrk)"
else
    echo "could not install wrk; bench_send_sms.py will use its Python load generator" >&2
fi
exit 0
