#!/usr/bin/env bash
# Scale of PSSessions from one `wsman` process (issue 11): N sessions
# (default 1000) spread over H test host processes (default 4, each on its
# own port, Basic over HTTP), made with one `wsman -H ... session new`,
# a script run in all of them with one `session invoke`, and all removed
# with one `session remove`. For each step: wall time, the wsman
# process's peak RSS (VmHWM) and peak thread count (sampled from /proc
# every 20 ms), and the exit code.
#
# A measurement, not a test. Usage: tests/bench/many_sessions.sh [N] [H] [THROTTLE]
# Needs .venv (scripts/setup.sh) and a built wsman (release if present,
# else debug: `cargo build -p wsman-cli --bin wsman`).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
py="$root/.venv/bin/python"
n=${1:-1000}
hosts=${2:-4}
throttle=${3:-64}
target="${CARGO_TARGET_DIR:-$root/target}"
wsman="$target/release/wsman"
[ -x "$wsman" ] || wsman="$target/debug/wsman"
[ -x "$py" ] || { echo "no .venv: run scripts/setup.sh" >&2; exit 1; }
[ -x "$wsman" ] || { echo "build first: cargo build -p wsman-cli --bin wsman" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

per=$(( (n + hosts - 1) / hosts ))
urls=()
for i in $(seq "$hosts"); do
  (cd fixtures/testhost && exec "$py" -m testhost --auth basic --allow-unencrypted \
     --max-shells-per-user "$((per + 10))") >"$work/host$i.json" 2>"$work/host$i.err" &
  pids+=($!)
done
for i in $(seq "$hosts"); do
  for _ in $(seq 200); do [ -s "$work/host$i.json" ] && break; sleep 0.1; done
  [ -s "$work/host$i.json" ] || { echo "test host $i did not start" >&2; cat "$work/host$i.err" >&2; exit 1; }
  urls+=("$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/host$i.json")")
done
password=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$work/host1.json")

# -H: the hosts' URLs, round robin, N entries (one session each).
list=""
for k in $(seq 0 $((n - 1))); do list+="${urls[$((k % hosts))]},"; done
list=${list%,}

export WSMAN_STATE_DIR="$work/state" WSMAN_PASSWORD="$password"
# measure LABEL ARGS...: runs wsman once, samples it, prints a table row.
measure() {
  local label=$1
  shift
  local t0 t1 pid peak_threads=0 peak_rss=0 th rss code
  t0=$(date +%s.%N)
  "$wsman" "$@" >"$work/out" 2>"$work/err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    th=$(awk '/^Threads:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    rss=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${th:-0}" -gt "$peak_threads" ] && peak_threads=$th
    [ "${rss:-0}" -gt "$peak_rss" ] && peak_rss=$rss
    sleep 0.02
  done
  code=0
  wait "$pid" || code=$?
  t1=$(date +%s.%N)
  printf '| %-34s | %8.1f | %10s | %7s | %4s | %6s |\n' "$label" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$peak_rss" "$peak_threads" "$code" \
    "$(wc -l <"$work/out")"
  if [ "$code" != 0 ]; then head -5 "$work/err" >&2; fi
}

echo "wsman: $wsman; $n sessions on $hosts test hosts; throttle $throttle"
echo "| step                               |   wall s | peakRSS kB | threads | exit | stdout lines |"
echo "|------------------------------------|----------|------------|---------|------|--------------|"
measure "session new ($n)" -H "$list" -a basic --no-encryption -u vagrant \
  session new --name big --throttle "$throttle"
measure "session invoke big '1'" session invoke big '1' --throttle "$throttle"
measure "session remove big" session remove big --throttle "$throttle"
