#!/usr/bin/env bash
# What `make` needs from the machine itself, beyond Python: checked in well under a second when all is there.
#
#   scripts/system-check.sh test      Chromium, CJK fonts, the Redis and PostgreSQL servers, answering on 127.0.0.1
#   scripts/system-check.sh cluster   the Redis and PostgreSQL servers, answering on 127.0.0.1
#
# As root, what is missing is installed (Debian's apt) and the servers are started when they do not answer.
# Otherwise it stops at once with one line naming what to install or start, and exit code 1.
# (No `cmd | grep -q` below: under pipefail, grep's early exit would fail the pipe.)
set -euo pipefail

mode="${1:-test}"
redis_host="${SYSTEM_REDIS_HOST:-127.0.0.1}"
redis_port="${SYSTEM_REDIS_PORT:-6379}"
pg_host="${SYSTEM_POSTGRES_HOST:-127.0.0.1}"
pg_port="${SYSTEM_POSTGRES_PORT:-5432}"
# The database the tests (or the cluster) use; psql takes it without SQLAlchemy's driver suffix.
pg_url="${SYSTEM_POSTGRES_URL:-postgresql+asyncpg://postgres@$pg_host:$pg_port/postgres}"
pg_url="${pg_url/+asyncpg/}"

case "$mode" in
  test) wants=(redis postgresql chromium fonts) ;;
  cluster) wants=(redis postgresql) ;;
  *) echo "usage: $0 test|cluster" >&2; exit 2 ;;
esac

is_root() { [ "$(id -u)" -eq 0 ]; }
postgres_glob="${SYSTEM_POSTGRES_GLOB:-/usr/lib/postgresql/*/bin/postgres}"
postgres_server_installed() { compgen -G "$postgres_glob" >/dev/null; }

# The Debian package for each wanted piece that is not installed.
missing=()
for want in "${wants[@]}"; do
  case "$want" in
    redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server) ;;
    postgresql) postgres_server_installed && command -v pg_isready >/dev/null || missing+=(postgresql) ;;
    chromium) command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium) ;;
    fonts) [[ "$(fc-list : family 2>/dev/null)" == *"Noto Sans CJK"* ]] || missing+=(fonts-noto-cjk) ;;
  esac
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! is_root; then
    echo "Missing system packages for 'make $mode': ${missing[*]} (as root: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

redis_answers() { [ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" = PONG ]; }
postgres_answers() { pg_isready -h "$pg_host" -p "$pg_port" -q; }

if ! redis_answers; then
  if ! is_root; then
    echo "Redis does not answer on $redis_host:$redis_port: start it (as root: service redis-server start)" >&2
    exit 1
  fi
  echo "== starting Redis on $redis_host:$redis_port"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind "$redis_host" --port "$redis_port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/make.log
  for _ in $(seq 1 30); do redis_answers && break; sleep 0.5; done
  redis_answers || { echo "Redis did not start: see /var/log/redis/make.log" >&2; exit 1; }
fi

if ! postgres_answers; then
  if ! is_root; then
    echo "PostgreSQL does not answer on $pg_host:$pg_port: start it (as root: pg_ctlcluster <version> main start)" >&2
    exit 1
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "== starting PostgreSQL $version on $pg_host:$pg_port"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do postgres_answers && break; sleep 1; done
  postgres_answers || { echo "PostgreSQL $version did not start: see /var/log/postgresql/" >&2; exit 1; }
fi

# A fresh Debian cluster asks for a password on 127.0.0.1; the tests connect as postgres without one.
postgres_lets_in() { psql -w "$pg_url" -tAc "select 1" >/dev/null 2>&1; }
if ! postgres_lets_in; then
  if ! is_root || [[ " ${missing[*]} " != *" postgresql "* ]]; then
    echo "PostgreSQL refuses $pg_url: allow it (pg_hba.conf: host all postgres 127.0.0.1/32 trust) or point TEST_POSTGRES_URL / DATABASE_URL elsewhere" >&2
    exit 1
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  echo "== letting postgres in over loopback without a password (the cluster installed above, $hba)"
  sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 1 10); do postgres_lets_in && break; sleep 0.5; done
  postgres_lets_in || { echo "PostgreSQL still refuses $pg_url: see $hba" >&2; exit 1; }
fi

echo "System ready for 'make $mode': Redis on $redis_host:$redis_port and PostgreSQL on $pg_host:$pg_port answer."
