#!/usr/bin/env bash
# Wall time of one `winrm/config` Get with NTLM and message encryption over
# HTTP, process start included: `wsman get winrm/config` (release build)
# beside a pypsrp script doing the same Get
# (pypsrp.wsman.WSMan(...).get(".../wsman/1/config"), auth=ntlm,
# encryption=always). Each run is a new process: connect, NTLM handshake,
# one sealed request, exit. Prints the median of N runs (default 20) of each.
#
# A measurement, not a test. Usage: tests/bench/get_config_walltime.sh [N]
# Needs .venv (scripts/setup.sh) and `cargo build --release -p wsman-cli --bin wsman`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
runs=${1:-20}
py="$root/.venv/bin/python"
wsman="${CARGO_TARGET_DIR:-$root/target}/release/wsman"
[ -x "$py" ] || { echo "no .venv: run scripts/setup.sh" >&2; exit 1; }
[ -x "$wsman" ] || { echo "build first: cargo build --release -p wsman-cli --bin wsman" >&2; exit 1; }

info=$(mktemp)
(cd fixtures/testhost && exec "$py" -m testhost --auth ntlm) >"$info" 2>/dev/null &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null; wait "$host_pid" 2>/dev/null; rm -f "$info"' EXIT
for _ in $(seq 100); do [ -s "$info" ] && break; sleep 0.1; done
[ -s "$info" ] || { echo "the test host did not start" >&2; exit 1; }

field() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$info" "$1"; }
url=$(field url)
user=$(field user)
password=$(field password)
port=${url#http://127.0.0.1:}
port=${port%%/*}

# Runs "$@" $runs times; prints the median wall time in milliseconds.
median_ms() {
  "$py" - "$runs" "$@" <<'EOF'
import statistics, subprocess, sys, time
runs, argv = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    times.append((time.perf_counter() - t0) * 1000)
    if p.returncode != 0 or b"MaxEnvelopeSizekb" not in p.stdout:
        sys.exit(f"{argv[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
print(f"{statistics.median(times):.1f} (min {min(times):.1f}, max {max(times):.1f})")
EOF
}

pypsrp_get='
import sys
import xml.etree.ElementTree as ET
from pypsrp.wsman import WSMan
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
w = WSMan("127.0.0.1", port=port, ssl=False, auth="ntlm", encryption="always",
          username=user, password=password, cert_validation=False)
body = w.get("http://schemas.microsoft.com/wbem/wsman/1/config")
print(ET.tostring(body, encoding="unicode"))
'

export WSMAN_PASSWORD="$password"
echo "winrm/config Get, NTLM sealed over HTTP, $runs runs each, process start included (ms):"
echo "  wsman (release):  $(median_ms "$wsman" -H "$url" -a ntlm -u "$user" get winrm/config)"
echo "  pypsrp $("$py" -c 'import importlib.metadata as m; print(m.version("pypsrp"))'):  $(median_ms "$py" -c "$pypsrp_get" "$port" "$user" "$password")"
