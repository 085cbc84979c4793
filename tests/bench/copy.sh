#!/usr/bin/env bash
# File copy speed against the test host (NTLM, sealed over HTTP by default):
# `wsman copy` (release build) to the host and back, and pypsrp 0.9.1's
# Client.copy / Client.fetch of the same file in the same run. For each:
# wall time, MB/s, client CPU (user+sys) and CPU ms per MiB, max RSS, and
# the test host's CPU seconds. Digests are compared on both sides (the
# file on the host's disk, under its --fs-root, and the one fetched back).
#
# A measurement, not a test. Usage: tests/bench/copy.sh [MiB] [auth]
# (default 64 MiB, ntlm; auth basic sends plaintext over HTTP).
# WSMAN_BEFORE=path/to/another/wsman adds its rows to the same run (a
# build of an earlier commit, for a before/after table).
# Needs .venv (scripts/setup.sh), /usr/bin/time and
# `cargo build --release -p wsman-cli --bin wsman`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
py="$root/.venv/bin/python"
wsman="${CARGO_TARGET_DIR:-$root/target}/release/wsman"
mib=${1:-64}
auth=${2:-ntlm}
[ -x "$py" ] || { echo "no .venv: run scripts/setup.sh" >&2; exit 1; }
[ -x "$wsman" ] || { echo "build first: cargo build --release -p wsman-cli --bin wsman" >&2; exit 1; }
before=${WSMAN_BEFORE:-}
[ -z "$before" ] || [ -x "$before" ] || { echo "WSMAN_BEFORE=$before is not an executable" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
info="$work/info.json"
log="$work/time.log"
extra=()
[ "$auth" = basic ] && extra=(--allow-unencrypted)
(cd fixtures/testhost && exec "$py" -m testhost --auth "$auth" --fs-root "$work/fs" "${extra[@]}") >"$info" 2>/dev/null &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null; wait "$host_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$info" ] && break; sleep 0.1; done
[ -s "$info" ] || { echo "the test host did not start" >&2; exit 1; }
field() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$info" "$1"; }
url=$(field url)
user=$(field user)
password=$(field password)
export WSMAN_USER=$user WSMAN_PASSWORD=$password
mkdir -p "$work/fs/C/bench"
head -c "$((mib << 20))" /dev/urandom >"$work/src.bin"
want=$(sha256sum <"$work/src.bin" | cut -d' ' -f1)
wsman_args=(-H "$url" -a "$auth")
[ "$auth" = basic ] && wsman_args+=(--no-encryption)

host_cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$host_pid/stat"; }

# measure LABEL FILE_TO_CHECK COMMAND...: one run, one table row.
measure() {
  local label=$1 check=$2
  shift 2
  rm -f "$check"
  local before after
  before=$(host_cpu)
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  after=$(host_cpu)
  local got
  got=$(sha256sum <"$check" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "$label: digest mismatch ($got)" >&2; exit 1; }
  awk -v label="$label" -v mib="$mib" -v hb="$before" -v ha="$after" '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time \(seconds\)/ { u = $NF }
    /System time \(seconds\)/ { s = $NF }
    /Maximum resident set size/ { rss = $NF }
    /Minor \(reclaiming a frame\) page faults/ { flt = $NF }
    END { printf "| %-20s | %7.2f | %7.2f | %6.2f + %-5.2f | %9.2f | %9d | %8d | %10.2f |\n",
          label, wall, mib * 1.048576 / wall, u, s, (u + s) * 1000 / mib, rss, flt, ha - hb }' "$log"
}

echo "$mib MiB, auth $auth, test host $url"
echo "| client               |  wall s |    MB/s | CPU s user+sys | ms/MiB    | maxRSS kB | minflt   | host CPU s |"
echo "|----------------------|---------|---------|----------------|-----------|-----------|----------|------------|"
if [ -n "$before" ]; then
  measure "before: wsman up" "$work/fs/C/bench/up.bin" \
    "$before" "${wsman_args[@]}" copy "$work/src.bin" 'host:C:\bench\up.bin'
  measure "before: wsman down" "$work/down.bin" \
    "$before" "${wsman_args[@]}" copy 'host:C:\bench\up.bin' "$work/down.bin"
fi
measure "wsman copy up" "$work/fs/C/bench/up.bin" \
  "$wsman" "${wsman_args[@]}" copy "$work/src.bin" 'host:C:\bench\up.bin'
measure "wsman copy down" "$work/down.bin" \
  "$wsman" "${wsman_args[@]}" copy 'host:C:\bench\up.bin' "$work/down.bin"
measure "pypsrp copy up" "$work/fs/C/bench/py.bin" \
  "$py" tests/bench/copy_pypsrp.py "$url" "$auth" "$user" "$password" up "$work/src.bin" 'C:\bench\py.bin'
measure "pypsrp fetch down" "$work/pydown.bin" \
  "$py" tests/bench/copy_pypsrp.py "$url" "$auth" "$user" "$password" down "$work/pydown.bin" 'C:\bench\py.bin'
