#!/usr/bin/env bash
# Renders sample tables (2020 on the 2019 template, 2024 on the 2021 one) to
# HTML through the real server and CLI, then has headless Chromium take a
# screenshot and print an A4 PDF of each, to look at against the official
# layout. Installs Debian's chromium and CJK fonts when missing.
#
#   scripts/screenshot-report.sh [OUTPUT_DIR]   (default target/report-screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/report-screenshots}
mkdir -p "$out"

if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

cargo build --release --quiet
bin=target/release/disclosure-ledger
data=$(mktemp -d)
profile=$(mktemp -d)
addr=127.0.0.1:50987
"$bin" serve --listen "$addr" --data-dir "$data" 2>"$out/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$profile"' EXIT

for _ in $(seq 100); do
  "$bin" report --server "http://$addr" --agency sample-agency --year 2024 >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin" append --server "http://$addr" examples/sample-years.jsonl

for year in 2020 2024; do
  html="$out/report-$year.html"
  "$bin" report --server "http://$addr" --agency sample-agency --year "$year" --format html --output "$html"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1240,1754 \
    --screenshot="$out/report-$year.png" "file://$PWD/$html" 2>/dev/null
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --no-pdf-header-footer \
    --print-to-pdf="$out/report-$year.pdf" "file://$PWD/$html" 2>/dev/null
  echo "$out/report-$year.png and .pdf"
done
