#!/usr/bin/env bash
# The tour, on a fresh Debian 12 machine as root: installs what is needed,
# builds `wsman`, starts the local test host (NTLM with sealed bodies, as a
# Windows host requires) and walks a PSSession through its life: created,
# used twice sharing a variable, left running a script while disconnected,
# listed, connected from a second client, its output received, removed;
# then a file and a folder copied to the host's disk and back.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
echo "demo: building wsman"
cargo build -q -p wsman-cli --bin wsman
W="$root/target/debug/wsman"

work=$(mktemp -d)
host_pid=""
hop_pid=""
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null
  [ -n "$hop_pid" ] && kill "$hop_pid" 2>/dev/null && wait "$hop_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

(cd fixtures/testhost && exec "$root/.venv/bin/python" -m testhost --auth ntlm,kerberos,basic,credssp --fs-root "$work/host-fs") \
  >"$work/host.json" 2>"$work/host.log" &
host_pid=$!
for _ in $(seq 100); do [ -s "$work/host.json" ] && break; sleep 0.1; done
field() { "$root/.venv/bin/python" -c "import json,sys; print(json.load(open('$work/host.json'))['$1'])"; }
export WSMAN_HOST=$(field url) WSMAN_USER=$(field user) WSMAN_PASSWORD=$(field password)
export WSMAN_STATE_DIR="$work/client-one"

run() { echo; echo "$ wsman $(printf '%q ' "$@")"; "$W" -a ntlm "$@"; }

echo "demo: test host at $WSMAN_HOST (user $WSMAN_USER); every body is NTLM-sealed"
run identify
run session new --name demo
run session invoke demo '$x = 42'
run session invoke demo '$x'
run session invoke --disconnected demo "'started while disconnected'; Start-Sleep 2; 'finished while disconnected'"
run session list --remote
id=$("$root/.venv/bin/python" -c "import json; print(json.load(open('$WSMAN_STATE_DIR/sessions.json'))[0]['instance_id'])")
echo; echo "demo: a second client (its own state folder) connects to the session by InstanceId"
WSMAN_STATE_DIR="$work/client-two" run session connect "$id"
WSMAN_STATE_DIR="$work/client-two" run session invoke "$id" '"x is still $x"'
run session receive demo
run session remove demo
run session list --remote
echo; echo "demo: a temporary session (Invoke-Command -ComputerName), and WinRS"
run invoke "'hello from a temporary session'; Write-Warning 'warnings go to stderr'"
run exec echo "hello from WinRS"
echo; echo "demo: copies both ways; the host's C: drive is $work/host-fs/C"
head -c 3000000 /dev/urandom >"$work/data.bin"
mkdir -p "$work/folder/sub/empty" && echo "hello" >"$work/folder/sub/héllo wörld.txt" && : >"$work/folder/empty.txt"
run copy "$work/data.bin" 'host:C:\Users\vagrant\data.bin'
echo "on the host's disk: $(sha256sum <"$work/host-fs/C/Users/vagrant/data.bin" | cut -c1-64)"
run copy 'host:C:\Users\vagrant\data.bin' "$work/back.bin"
cmp "$work/data.bin" "$work/back.bin" && echo "back here, byte for byte"
run copy -r "$work/folder" 'host:C:\Users\vagrant'
run copy -r 'host:C:\Users\vagrant\folder' "$work/folder-back"
diff -r "$work/folder" "$work/folder-back" && echo "the folder is back, empty folder and empty file included"
echo; echo "demo: the second hop: a command on the host reaches a second host (SRV2) as you"
(cd fixtures/testhost && exec "$root/.venv/bin/python" -m testhost --auth negotiate,ntlm --computer-name SRV2) \
  >"$work/hop.json" 2>"$work/hop.log" &
hop_pid=$!
for _ in $(seq 100); do [ -s "$work/hop.json" ] && break; sleep 0.1; done
second=$("$root/.venv/bin/python" -c "import json; print(json.load(open('$work/hop.json'))['url'])")
hop="Invoke-Command -ConnectionUri $second -ScriptBlock { \"hop 2 on \$env:COMPUTERNAME as \$(whoami)\" }"
echo "NTLM delegates nothing, so the host cannot go on (the Windows double-hop error):"
run invoke "$hop" || true
echo "CredSSP delegates the password (-a credssp; with Kerberos: -a kerberos --delegate):"
echo; echo "$ wsman -a credssp invoke $(printf '%q' "$hop")"
"$W" -a credssp invoke "$hop"
echo; echo "demo: done"
