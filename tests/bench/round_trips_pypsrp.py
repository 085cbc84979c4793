"""HTTP round trips pypsrp 0.9.1 takes for each PSSession operation against
the test host (NTLM, sealed), counted at the host: the reference numbers
beside tests/tests/round_trips.rs (our client).

Usage: .venv/bin/python tests/bench/round_trips_pypsrp.py
"""
import json
import os
import subprocess
import sys
import urllib.request

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
host = subprocess.Popen([sys.executable, "-m", "testhost", "--auth", "ntlm"],
                        cwd=os.path.join(root, "fixtures", "testhost"),
                        stdout=subprocess.PIPE, text=True)
try:
    info = json.loads(host.stdout.readline())
    port = int(info["url"].split(":")[2].split("/")[0])

    def stats():
        with urllib.request.urlopen(info["stats_url"]) as r:
            s = json.load(r)
        return s["requests"], s["connections"], s["auth_handshakes"]

    last = stats()

    def step(name):
        global last
        now = stats()
        d = (now[0] - last[0], now[1] - last[1] - 1, now[2] - last[2])
        print(f"{name:<28} requests {d[0]:>2}  connections {d[1]}  handshakes {d[2]}")
        last = now

    def wsman():
        return WSMan("127.0.0.1", port=port, username=info["user"], password=info["password"],
                     ssl=False, auth="ntlm", encryption="auto")

    pool = RunspacePool(wsman())
    pool.open()
    step("New (open)")
    ps = PowerShell(pool)
    ps.add_script("$x = 1")
    ps.invoke()
    step("Invoke one line")
    ps = PowerShell(pool)
    ps.add_script("'a'; Start-Sleep 1; 'b'")
    ps.begin_invoke()
    step("Invoke, disconnected")
    pool.disconnect()
    step("Disconnect")
    w2 = wsman()
    found = [p for p in RunspacePool.get_runspace_pools(w2) if p.id == pool.id]
    pool2 = found[0]
    step("List (get_runspace_pools)")
    pool2.connect()
    step("Connect (new client)")
    pipes = pool2.create_disconnected_power_shells()
    step("List the pool's pipelines")
    out = pipes[0].connect()
    assert [str(o) for o in out] == ["a", "b"], out
    step("Receive (connect + receive)")
    pool2.close()
    step("Remove")
finally:
    host.terminate()
    host.wait()
