#!/usr/bin/env bash
# Installs and starts what the tests need on a Debian machine, idempotently: Docker engine (and the
# offline test images), PostgreSQL with a `test` database, Chromium for the dashboard tests.
# Deno comes from npm (a devDependency). Run as root: `bash scripts/test-env.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v busybox >/dev/null 2>&1 || missing+=(busybox-static)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v file >/dev/null 2>&1 || missing+=(file)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-env: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
psql_as_postgres() { if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then su postgres -c "psql -qAt $*"; else psql -h 127.0.0.1 -U postgres -qAt "$@"; fi; }
if ! psql -h 127.0.0.1 -U postgres -d test -qAtc 'SELECT 1' >/dev/null 2>&1; then
  # A fresh Debian PostgreSQL asks for passwords on TCP: let local loopback connections in for tests.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
  if ! grep -q 'thresh-tests' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust # thresh-tests\nhost all all ::1/128 trust # thresh-tests' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main reload
  fi
  psql_as_postgres "-c 'CREATE DATABASE test'" 2>/dev/null || true
fi

bash scripts/docker-start.sh
bash scripts/docker-test-images.sh
