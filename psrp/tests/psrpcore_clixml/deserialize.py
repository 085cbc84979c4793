"""Reads a CLIXML <Objs> document on stdin with psrpcore and prints the
canonical JSON (see canon.py) of its values as one JSON list."""
import json
import sys

from psrpcore.types import deserialize_clixml

from canon import canon

values = deserialize_clixml(sys.stdin.read(), None)
json.dump([canon(v) for v in values], sys.stdout)
