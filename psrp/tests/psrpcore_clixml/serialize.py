"""Serializes a corpus of values with psrpcore and prints
{"clixml": <Objs document>, "expected": [canonical JSON of each value]}
(canon.py), so the Rust side can read the document and compare value by value."""
import datetime
import decimal
import json
import sys
import uuid

from psrpcore.types import (
    PSByte,
    PSByteArray,
    PSChar,
    PSCustomObject,
    PSDateTime,
    PSDecimal,
    PSDict,
    PSDouble,
    PSDuration,
    PSGuid,
    PSInt,
    PSInt16,
    PSInt64,
    PSList,
    PSQueue,
    PSSByte,
    PSScriptBlock,
    PSSingle,
    PSStack,
    PSString,
    PSUInt,
    PSUInt16,
    PSUInt64,
    PSUri,
    PSVersion,
    PSXml,
    RunspacePoolState,
    add_note_property,
    serialize_clixml,
)

from canon import canon


def corpus():
    tricky = "tab\there\r\nnul\x00 del\x7f c1\x85 _x0041_ _X _x005F_ <&>\"' \U0001f600 \u00e9\u4e2d \ufffd"
    values = [
        None,
        True,
        False,
        PSString(""),
        PSString("plain"),
        PSString(tricky),
        PSChar(65),
        PSChar(0x263A),
        PSByte(255),
        PSSByte(-128),
        PSUInt16(65535),
        PSInt16(-32768),
        PSUInt(4294967295),
        PSInt(-2147483648),
        PSUInt64(18446744073709551615),
        PSInt64(-9223372036854775808),
        PSSingle(1.5),
        PSSingle(0.1),
        PSSingle(float("inf")),
        PSDouble(0.1),
        PSDouble(-1.7976931348623157e308),
        PSDouble(5e-324),
        PSDouble(float("-inf")),
        PSDouble(float("nan")),
        PSDecimal(decimal.Decimal("-79228162514264337593543950335")),
        PSDecimal(decimal.Decimal("12.50")),
        PSByteArray(b""),
        PSByteArray(bytes(range(256))),
        PSGuid(uuid.UUID("792e5b37-4505-47ef-b7d2-8711bb7affa8")),
        PSUri("http://host:5985/wsman?a=1&b=_x"),
        PSVersion("10.0.17763.1"),
        PSVersion("2.3"),
        PSXml("<a b=\"c\">d</a>"),
        PSScriptBlock("Get-Process | Where-Object { $_.CPU -gt 10 }\n"),
        PSDateTime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc),
        PSDateTime(1999, 12, 31, 23, 59, 59),
        PSDuration(days=1, hours=2, minutes=3, seconds=4, microseconds=500000),
        PSDuration(seconds=0),
        PSList([1, "two", None, PSList([PSInt64(3)])]),
        PSList([]),
        PSStack([1, 2, 3]),
        PSQueue(),
        PSDict({"a": 1, "b": PSList(["x"]), "with space_x": None}),
        PSDict({}),
        RunspacePoolState.Opened,
    ]
    q = PSQueue()
    q.put("first")
    q.put(2)
    values.append(q)

    obj = PSCustomObject(Name="svc_x0041_", Id=4, Nested=PSCustomObject(**{"A B": "c\nd", "_x": True}))
    values.append(obj)

    noted = PSString("a string with a note")
    add_note_property(noted, "Note_x", PSInt(7))
    values.append(noted)

    typed = PSCustomObject(Prop="value")
    typed.PSObject.type_names = ["My.Type_x0020_Name", "System.Object"]
    typed.PSObject.to_string = "custom to string \x01"
    values.append(typed)
    return values


values = corpus()
# Canonicalize first: serializing drains psrpcore's queues.
expected = [canon(v) for v in values]
clixml = serialize_clixml(values, None)
json.dump({"clixml": clixml, "expected": expected}, sys.stdout)
