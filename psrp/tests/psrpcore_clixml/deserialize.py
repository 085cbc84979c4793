"""Reads a CLIXML <Objs> document on stdin with psrpcore and prints the
canonical JSON (see canon.py) of its values as one JSON list.

With --each, every child of <Objs> is read on its own (references are per
message, as for PSRP message bodies), without psrpcore's rehydration into
its own classes (ErrorRecord and friends restructure their properties, which
says nothing about how CLIXML was read), and a value psrpcore cannot read
becomes {"error": "..."} instead of failing the whole run.
"""
import json
import sys
from xml.etree import ElementTree

from psrpcore.types import deserialize, deserialize_clixml
from psrpcore.types._base import TypeRegistry

from canon import canon

text = sys.stdin.read()
if "--each" in sys.argv:
    TypeRegistry().type_registry.clear()
    # psrpcore's own reader drops the namespace the same way.
    root = ElementTree.fromstring("<Objs" + text[text.find(">") :])
    out = []
    for child in root:
        try:
            out.append(canon(deserialize(child, None)))
        except Exception as e:  # noqa: BLE001 - reported to the Rust side
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout)
else:
    values = deserialize_clixml(text, None)
    json.dump([canon(v) for v in values], sys.stdout)
