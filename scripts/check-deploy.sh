#!/usr/bin/env bash
# Checks the files in deploy/ with what this machine has:
# - systemd-analyze verify on the unit (needs the binary at ExecStart);
# - yamllint and kubernetes-validate (pip) on the Kubernetes manifest;
# - the container's settings, run as the Dockerfile runs them (the same
#   DISCLOSURE_* variables, TLS certificate files, an unprivileged user
#   where possible) and probed with the same `health` command.
# Docker itself is not run: there is no daemon here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin disclosure-ledger
bin=$PWD/target/release/disclosure-ledger

echo "== systemd unit"
if command -v systemd-analyze >/dev/null; then
  unit_dir=$(mktemp -d)
  sed "s|/usr/local/bin/disclosure-ledger|$bin|" deploy/systemd/disclosure-ledger.service >"$unit_dir/disclosure-ledger.service"
  systemd-analyze verify "$unit_dir/disclosure-ledger.service"
  echo "systemd-analyze verify: ok"
else
  echo "systemd-analyze not installed; skipped"
fi

echo "== Kubernetes manifest"
pip install --quiet --disable-pip-version-check yamllint kubernetes-validate 2>/dev/null || true
yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}' deploy/kubernetes/
kubernetes-validate --strict deploy/kubernetes/statefulset.yaml

echo "== container settings, run outside a container"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/tls" "$work/data"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
  -keyout "$work/tls/ca.key" -out "$work/tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/tls/tls.key" -out "$work/tls/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$work/tls/ext"
openssl x509 -req -in "$work/tls/tls.csr" -CA "$work/tls/ca.crt" -CAkey "$work/tls/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/tls/ext" -out "$work/tls/tls.crt" 2>/dev/null
# The Dockerfile's ENV, with its paths moved under $work and free ports; the
# probe runs in the same environment, as a HEALTHCHECK does.
export DISCLOSURE_DATA_DIR=$work/data DISCLOSURE_LISTEN=0.0.0.0:50561 DISCLOSURE_METRICS_LISTEN=0.0.0.0:50562 \
  DISCLOSURE_LOG_FORMAT=json DISCLOSURE_TLS_CERT=$work/tls/tls.crt DISCLOSURE_TLS_KEY=$work/tls/tls.key
"$bin" serve 2>"$work/log" &
pid=$!
for _ in $(seq 50); do
  "$bin" health --server https://localhost:50561 --tls-ca "$work/tls/ca.crt" >/dev/null 2>&1 && break
  sleep 0.2
done
"$bin" health --server https://localhost:50561 --tls-ca "$work/tls/ca.crt"
curl -fsS http://127.0.0.1:50562/metrics | grep -q disclosure_rpc_seconds && echo "metrics: ok"
test -s "$work/data/admin.token" && echo "first admin token written to the data volume: ok"
kill -TERM "$pid"
wait "$pid"
echo "SIGTERM: drained and exited 0"
