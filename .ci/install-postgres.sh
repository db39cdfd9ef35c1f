#!/bin/sh
# PostgreSQL server binaries for the sweep tests (tests/test_sweep.py starts its own server
# on 127.0.0.1 with a fresh data directory; nothing is configured system-wide).
# Debian's package; needs root. Idempotent: does nothing when initdb is already there.
set -eu
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "postgresql already installed: $(ls /usr/lib/postgresql/*/bin/initdb | head -n 1)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb
