"""Canonical JSON of psrpcore values, the form psrp/tests/clixml_psrpcore.rs compares.

A primitive is {"t": <CLIXML element>, "v": <value>}; an object is
{"t": "Obj", "tn": [type names] | null, "ts": ToString | null,
 "c": null | {"prim": ...} | {"list": [...]} | {"stack": [...]} | {"queue": [...]}
      | {"dict": [[key, value], ...]},
 "a": [[name, value], ...] (adapted), "e": [[name, value], ...] (extended)}.
Floats are JSON numbers (Sg rounded to single precision) or "INF", "-INF", "NaN".
Type names lose the "Deserialized." prefix psrpcore adds when reading.
"""
import base64
import enum
import math
import struct

from psrpcore.types import (
    PSBool,
    PSByte,
    PSByteArray,
    PSChar,
    PSDateTime,
    PSDecimal,
    PSDictBase,
    PSDouble,
    PSDuration,
    PSEnumBase,
    PSFlagBase,
    PSGuid,
    PSInt,
    PSInt16,
    PSInt64,
    PSListBase,
    PSObject,
    PSQueueBase,
    PSSByte,
    PSScriptBlock,
    PSSecureString,
    PSSingle,
    PSStackBase,
    PSString,
    PSUInt,
    PSUInt16,
    PSUInt64,
    PSUri,
    PSVersion,
    PSXml,
)
from psrpcore.types._collection import PSIEnumerable
from psrpcore.types._serializer import _serialize_datetime, _serialize_duration, _serialize_enum_to_string

# Order matters: subclasses before their bases.
_PRIMITIVES = [
    (PSChar, "C"),
    (PSByte, "By"),
    (PSSByte, "SB"),
    (PSUInt16, "U16"),
    (PSInt16, "I16"),
    (PSUInt, "U32"),
    (PSInt, "I32"),
    (PSUInt64, "U64"),
    (PSInt64, "I64"),
    (PSSingle, "Sg"),
    (PSDouble, "Db"),
    (PSDecimal, "D"),
    (PSByteArray, "BA"),
    (PSGuid, "G"),
    (PSUri, "URI"),
    (PSXml, "XD"),
    (PSScriptBlock, "SBK"),
    (PSString, "S"),
    (PSVersion, "Version"),
    (PSDateTime, "DT"),
    (PSDuration, "TS"),
]


def _float(x, single):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "INF" if x > 0 else "-INF"
    if single:
        x = struct.unpack("<f", struct.pack("<f", x))[0]
    return float(x)


def _plain(v, tag):
    if tag in ("C", "By", "SB", "U16", "I16", "U32", "I32", "U64", "I64"):
        return int(v)
    if tag in ("Sg", "Db"):
        return _float(float(v), tag == "Sg")
    if tag == "BA":
        return base64.b64encode(bytes(v)).decode()
    if tag == "G":
        return str(v).lower()
    if tag == "DT":
        return _serialize_datetime(v)
    if tag == "TS":
        return _serialize_duration(v)
    return str(v)


def _names(v):
    names = [n[len("Deserialized."):] if n.startswith("Deserialized.") else n for n in v.PSObject.type_names]
    return names or None


def _props(props):
    return [[p.name, canon(p.get_value(None) if hasattr(p, "get_value") else p.value)] for p in props]


def _prop_list(obj, kind):
    out = []
    for p in getattr(obj.PSObject, kind):
        out.append([p.name, canon(p.get_value(obj))])
    return out


def canon(v):
    if v is None:
        return {"t": "Nil"}
    if isinstance(v, bool):
        return {"t": "B", "v": v}
    if isinstance(v, PSSecureString):
        # Encrypted with a session key the tests do not have.
        return {"t": "SS"}
    if isinstance(v, PSBool):
        return {"t": "B", "v": bool(v)}
    if isinstance(v, enum.Enum) and not isinstance(v, PSObject):
        raise TypeError(f"plain Python enum {v!r}")
    if isinstance(v, (PSEnumBase, PSFlagBase)):
        # psrpcore writes an enum as <Obj> with its type names, the member
        # name as ToString and the value (an I32 unless the enum says
        # otherwise) inside.
        tag = next((t for c, t in _PRIMITIVES if isinstance(v, c)), "I32")
        return {
            "t": "Obj",
            "tn": _names(v),
            "ts": _serialize_enum_to_string(v),
            "c": {"prim": {"t": tag, "v": int(v)}},
            "a": [],
            "e": [],
        }
    for cls, tag in _PRIMITIVES:
        if isinstance(v, cls):
            plain = {"t": tag, "v": _plain(v, tag)}
            names = _names(v)
            default = list(cls.PSObject.type_names) or None
            a = _prop_list(v, "adapted_properties")
            e = _prop_list(v, "extended_properties")
            ts = v.PSObject._to_string
            if names == default:
                # psrpcore leaves out <TN> when it is the primitive's own.
                names = None
            if names is None and not a and not e and ts is None:
                return plain
            return {"t": "Obj", "tn": names, "ts": ts, "c": {"prim": plain}, "a": a, "e": e}
    if isinstance(v, str):
        return {"t": "S", "v": v}
    if isinstance(v, int):
        return {"t": "I32", "v": v}
    if isinstance(v, PSObject):
        c = None
        if isinstance(v, PSDictBase):
            c = {"dict": [[canon(k), canon(x)] for k, x in v.items()]}
        elif isinstance(v, PSStackBase):
            c = {"stack": [canon(x) for x in v]}
        elif isinstance(v, PSQueueBase):
            items = []
            while not v.empty():
                items.append(v.get())
            for x in items:
                v.put(x)
            c = {"queue": [canon(x) for x in items]}
        elif isinstance(v, (PSListBase, PSIEnumerable)):
            c = {"list": [canon(x) for x in v]}
        return {
            "t": "Obj",
            "tn": _names(v),
            "ts": v.PSObject._to_string,
            "c": c,
            "a": _prop_list(v, "adapted_properties"),
            "e": _prop_list(v, "extended_properties"),
        }
    raise TypeError(f"no canonical form for {type(v)!r}")
