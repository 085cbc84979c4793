#!/usr/bin/env bash
# Output volume: wall time and max RSS (GNU time -v) of receiving `1..N`
# from the test host (NTLM, sealed over HTTP), for each N given (default
# 10000 100000 1000000):
#   - `wsman invoke '1..N' >/dev/null` (release build), which streams;
#   - pypsrp 0.9.1 `PowerShell(pool).add_script('1..N').invoke()` (a list);
#   - pypsrp begin_invoke/poll_invoke emptying `output` after each Receive
#     (the nearest it has to streaming), see volume_pypsrp.py.
# Also the test host's CPU seconds during each run (it is the bottleneck).
#
# A measurement, not a test. Usage: tests/bench/volume.sh [N...]
# Needs .venv (scripts/setup.sh), /usr/bin/time and
# `cargo build --release -p wsman-cli --bin wsman`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
py="$root/.venv/bin/python"
wsman="${CARGO_TARGET_DIR:-$root/target}/release/wsman"
[ -x "$py" ] || { echo "no .venv: run scripts/setup.sh" >&2; exit 1; }
[ -x "$wsman" ] || { echo "build first: cargo build --release -p wsman-cli --bin wsman" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)

info=$(mktemp)
log=$(mktemp)
(cd fixtures/testhost && exec "$py" -m testhost --auth ntlm) >"$info" 2>/dev/null &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null; wait "$host_pid" 2>/dev/null; rm -f "$info" "$log"' EXIT
for _ in $(seq 100); do [ -s "$info" ] && break; sleep 0.1; done
[ -s "$info" ] || { echo "the test host did not start" >&2; exit 1; }

field() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$info" "$1"; }
url=$(field url)
export WSMAN_USER=$(field user) WSMAN_PASSWORD=$(field password)

host_cpu() { awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$host_pid/stat"; }

# measure LABEL N COMMAND...: one run, one table row.
measure() {
  local label=$1 n=$2
  shift 2
  local before after
  before=$(host_cpu)
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  after=$(host_cpu)
  local wall rss cpu_u cpu_s
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  cpu_u=$(sed -n 's/.*User time (seconds): //p' "$log")
  cpu_s=$(sed -n 's/.*System time (seconds): //p' "$log")
  printf '| %-22s | %9s | %8s | %10s | %8s + %-6s | %8s |\n' "$label" "$n" "$wall" \
    "$rss" "$cpu_u" "$cpu_s" "$(awk -v a="$before" -v b="$after" 'BEGIN{printf "%.1f", b-a}')"
}

echo "| client                 |         N |     wall | maxRSS kB  | client CPU s user+sys | host CPU s |"
echo "|------------------------|-----------|----------|------------|-----------------------|------------|"
for n in "${sizes[@]}"; do
  measure "wsman invoke" "$n" "$wsman" -H "$url" -a ntlm invoke "1..$n"
  measure "pypsrp invoke() list" "$n" "$py" tests/bench/volume_pypsrp.py "$url" "$n" list
  measure "pypsrp poll_invoke" "$n" "$py" tests/bench/volume_pypsrp.py "$url" "$n" stream
done
