"""Times psrpcore 0.3.1 deserializing the generated Get-Process-like document
that `cargo bench -p psrp --bench clixml` writes to
target/clixml-bench/processes_10k.xml (10,000 objects: psrpcore needs about
7 s for them; the 100k file would take over a minute).

Usage: .venv/bin/python psrp/benches/psrpcore_clixml.py [FILE]
Prints objects/s and MB/s, to compare with the `deserialize/processes_100k_*`
numbers of the Rust benchmark.
"""
import pathlib
import sys
import time

from psrpcore.types import deserialize_clixml

root = pathlib.Path(__file__).resolve().parents[2]
path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "target/clixml-bench/processes_10k.xml"
data = path.read_text(encoding="utf-8")

start = time.perf_counter()
values = deserialize_clixml(data, None)
elapsed = time.perf_counter() - start

n = len(values)
mb = len(data.encode()) / 1e6
print(f"psrpcore: {n} objects, {mb:.1f} MB in {elapsed:.2f} s: {n / elapsed:,.0f} objects/s, {mb / elapsed:.2f} MB/s")
