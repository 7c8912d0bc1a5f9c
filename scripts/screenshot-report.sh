#!/usr/bin/env bash
# Renders sample tables (2020 on the 2019 template, 2024 on the 2021 one)
# and the whole 2024 annual report (text and tables) to HTML through the
# real server and CLI, then has headless Chromium take a screenshot and
# print an A4 PDF of each, to look at against the official layout. Also
# writes the report as DOCX and XLSX beside them. Installs Debian's
# chromium and CJK fonts when missing.
#
#   scripts/screenshot-report.sh [OUTPUT_DIR]   (default target/report-screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/report-screenshots}")
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
"$bin" serve --no-auth --metrics-listen off --listen "$addr" --data-dir "$data" 2>"$out/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$profile"' EXIT

for _ in $(seq 100); do
  "$bin" report --server "http://$addr" --agency sample-agency --year 2024 >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin" append --server "http://$addr" examples/sample-years.jsonl
"$bin" append --server "http://$addr" examples/annual-report-2024.jsonl
"$bin" annual-report --server "http://$addr" --agency sample-agency --year 2024 --format html -o "$out/annual-report-2024.html"
"$bin" annual-report --server "http://$addr" --agency sample-agency --year 2024 --format docx -o "$out/annual-report-2024.docx"
"$bin" annual-report --server "http://$addr" --agency sample-agency --year 2024 --format xlsx -o "$out/annual-report-2024.xlsx"

for name in report-2020 report-2024 annual-report-2024; do
  html="$out/$name.html"
  case $name in
    report-*) "$bin" report --server "http://$addr" --agency sample-agency --year "${name#report-}" --format html --output "$html" ;;
  esac
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1240,1754 \
    --screenshot="$out/$name.png" "file://$html" 2>/dev/null
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --no-pdf-header-footer \
    --print-to-pdf="$out/$name.pdf" "file://$html" 2>/dev/null
  echo "$out/$name.png and .pdf"
done
