"""Times psrpcore 0.3.1 deserializing the generated Get-Process-like document
that `cargo bench -p psrp --bench clixml` writes to
$CARGO_TARGET_DIR/clixml-bench/processes_10k.xml (target/ when unset; 10,000
objects, the very input the Rust benchmark reads: psrpcore needs about 7 s).

Usage: .venv/bin/python psrp/benches/psrpcore_clixml.py [FILE]
Prints objects/s and MB/s, to compare with the `deserialize/processes_10k_*`
numbers of the Rust benchmark.
"""
import os
import pathlib
import sys
import time

from psrpcore.types import deserialize_clixml

root = pathlib.Path(__file__).resolve().parents[2]
target = root / os.environ.get("CARGO_TARGET_DIR", "target")  # an absolute one stays as it is
path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else target / "clixml-bench/processes_10k.xml"
data = path.read_text(encoding="utf-8")

start = time.perf_counter()
values = deserialize_clixml(data, None)
elapsed = time.perf_counter() - start

n = len(values)
mb = len(data.encode()) / 1e6
print(f"psrpcore: {n} objects, {mb:.1f} MB in {elapsed:.2f} s: {n / elapsed:,.0f} objects/s, {mb / elapsed:.2f} MB/s")
