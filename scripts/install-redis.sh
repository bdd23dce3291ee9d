#!/bin/sh
# Installs the Redis server the shared-world tests start on loopback (tests/redis_support.py):
# Debian's redis-server package. Nothing is downloaded outside the system's package manager.
set -eu

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
sh "$(dirname "$0")/apt-install.sh" install-redis redis-server
command -v redis-server >/dev/null 2>&1
