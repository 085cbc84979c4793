"""pypsrp 0.9.1 receiving `1..N` from the test host (NTLM, sealed): the
reference beside `wsman invoke '1..N'` in tests/bench/volume.sh.

Usage: .venv/bin/python tests/bench/volume_pypsrp.py URL N list|stream

`list` is what pypsrp offers: PowerShell.invoke() returns every output in
one list. pypsrp 0.9.1 has no streaming API; the nearest is begin_invoke()
and poll_invoke() (one WS-Man Receive each), emptying `ps.output` after
each poll, which is what `stream` does. Checks the count and the last value
and fails when any output is missing.
"""
import os
import sys
from urllib.parse import urlparse

from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

url, n, mode = urlparse(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
wsman = WSMan(url.hostname, port=url.port, path=url.path.lstrip("/"),
              username=os.environ.get("WSMAN_USER", "vagrant"),
              password=os.environ.get("WSMAN_PASSWORD", "Vagrant-2019"),
              ssl=False, auth="ntlm", encryption="auto")
with wsman, RunspacePool(wsman) as pool:
    ps = PowerShell(pool)
    ps.add_script(f"1..{n}")
    count, last = 0, None
    if mode == "list":
        out = ps.invoke()
        count, last = len(out), out[-1] if out else None
    else:
        ps.begin_invoke()
        while ps.state == PSInvocationState.RUNNING:
            ps.poll_invoke()
            if ps.output:
                count += len(ps.output)
                last = ps.output[-1]
                ps.output.clear()
    if count != n or last != n:
        sys.exit(f"expected {n} outputs ending with {n}, got {count} ending with {last}")
