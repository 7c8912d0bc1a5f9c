#!/usr/bin/env bash
# The whole benchmark suite, from a fresh machine: installs PostgreSQL from
# the distribution's packages if missing, starts a private cluster on
# loopback with its defaults (fsync on, synchronous_commit on), builds the
# release binaries, runs benches/suite.rs against both, and writes
# BENCHMARKS.md. Bounded: about 10 minutes on 2 cores.
#
#   bench/run.sh [--applications N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n1)")

pgdata=$(mktemp -d)
chown postgres "$pgdata"
port=55432
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
as_postgres "$pgbin/initdb -D $pgdata -U postgres -A trust >/dev/null"
as_postgres "$pgbin/pg_ctl -D $pgdata -l $pgdata/log -o '-c listen_addresses=127.0.0.1 -p $port -k $pgdata' -w start >/dev/null"
trap 'as_postgres "$pgbin/pg_ctl -D $pgdata -m fast stop" >/dev/null 2>&1; rm -rf "$pgdata"' EXIT
as_postgres "$pgbin/psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE DATABASE bench' >/dev/null"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port: fsync=$(as_postgres "$pgbin/psql -h 127.0.0.1 -p $port -U postgres -Atc 'show fsync'"), synchronous_commit=$(as_postgres "$pgbin/psql -h 127.0.0.1 -p $port -U postgres -Atc 'show synchronous_commit'")"

cargo bench --bench suite -- \
  --pg "host=127.0.0.1 port=$port user=postgres dbname=bench" \
  --out BENCHMARKS.md --command "bench/run.sh $*" "$@"

# What limits each figure, and what would lift it (written from profiles).
if [ -f bench/ANALYSIS.md ]; then
  printf '\n' >> BENCHMARKS.md
  cat bench/ANALYSIS.md >> BENCHMARKS.md
fi
