#!/usr/bin/env bash
# Person lookup by document number over HTTP at a fixed rate (oha, with latency correction
# against coordinated omission), against a store holding a synthetic population.
#
#   bench/lookup.sh [RECORDS_FILE] [DATA_DIR]
#
# RECORDS_FILE defaults to bench-out/synth-1m.ndjson (made with `dprofile synth` if absent);
# DATA_DIR holds the store (ingested from RECORDS_FILE if empty). RATE (default 1000/s) and
# DURATION (default 30s) set the load. Needs `oha` (cargo install oha).
set -euo pipefail
cd "$(dirname "$0")/.."
records_file=${1:-bench-out/synth-1m.ndjson}
data_dir=${2:-bench-out/lookup-store}
rate=${RATE:-1000}
duration=${DURATION:-30s}
port=${PORT:-18080}
dprofile=target/release/dprofile

cargo build --release -p dprofile --quiet
mkdir -p bench-out
if [ ! -f "$records_file" ]; then
    "$dprofile" synth --persons 90910 --seed 7 --out "$records_file"
fi
if [ ! -f "$data_dir/dprofile.sqlite3" ]; then
    "$dprofile" --data-dir "$data_dir" ingest "$records_file"
fi

# 10,000 passport numbers that are in the store, in random order.
grep -o '"kind":"passport","country":"[A-Z]*","number":"[^"]*"' "$records_file" \
    | sed 's/.*"number":"\([^"]*\)"/\1/' | sort -u | shuf -n 10000 --random-source=<(yes) \
    | sed "s|^|http://127.0.0.1:$port/v1/persons?document=|" > bench-out/lookup-urls.txt

"$dprofile" --data-dir "$data_dir" serve --listen "127.0.0.1:$port" > bench-out/lookup-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break
    sleep 0.2
done

echo "store: $data_dir ($(du -sh "$data_dir" | cut -f1)); $(nproc) cores; rate $rate/s for $duration"
oha --no-tui -q "$rate" -z "$duration" --latency-correction --urls-from-file bench-out/lookup-urls.txt
