#!/usr/bin/env bash
# dprofile resolve and Splink on the same NDJSON file, back to back, one row each:
# wall time, user+sys CPU, peak RSS, pairwise precision/recall/F1 against the truth.
#
# Usage: bench/resolve_vs_splink.sh FILE.ndjson TRUTH.csv [OUT_DIR]
# Environment: TARGET (default: ${CARGO_TARGET_DIR:-target}/release), PYTHON (default:
# python3 with splink, duckdb and pandas installed: pip install 'splink>=5' duckdb pandas).
set -euo pipefail

file=${1:?NDJSON file}
truth=${2:?truth CSV}
out=${3:-$(mktemp -d)}
target=${TARGET:-${CARGO_TARGET_DIR:-target}/release}
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

# Runs a command under /usr/bin/time -v; prints "wall_s cpu_s rss_mib".
measure() {
    local log=$1
    shift
    /usr/bin/time -v "$@" >"$log" 2>&1 || { tail -20 "$log" >&2; return 1; }
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
        /User time/ { cpu += $2 }
        /System time/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%.1f %.1f %.0f", wall, cpu, rss }' "$log"
}

quality() {
    "$target/dprofile-bench" quality --assignments "$1" --truth "$truth" |
        sed -n 's/^pairwise precision \([0-9.]*\), recall \([0-9.]*\), F1 \([0-9.]*\)$/\1 \2 \3/p'
}

echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
dprofile_row=$(measure "$out/dprofile.log" "$target/dprofile" resolve "$file" --out "$out/dprofile-assign.csv")
dprofile_quality=$(quality "$out/dprofile-assign.csv")
grep '^resolved' "$out/dprofile.log" >&2 || true
splink_row=$(measure "$out/splink.log" "$python" "$here/splink_synth.py" "$file" --out "$out/splink-assign.csv")
splink_quality=$(quality "$out/splink-assign.csv")
grep -E '^(splink|read) ' "$out/splink.log" >&2 || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

printf '%-18s %9s %11s %13s %7s %7s %7s\n' tool wall_s user+sys_s peak_rss_MiB P R F1
printf '%-18s %9s %11s %13s %7s %7s %7s\n' "dprofile resolve" $dprofile_row $dprofile_quality
printf '%-18s %9s %11s %13s %7s %7s %7s\n' "splink (duckdb)" $splink_row $splink_quality
