//! Cross-implementation tests of CLIXML ([MS-PSRP] 2.2.5) against psrpcore
//! 0.3.1, an independent implementation, through the bridge scripts in
//! `tests/psrpcore_clixml/`:
//!
//! (a) our serializer writes a corpus covering every primitive type and the
//!     complex shapes; psrpcore reads it; its reading must be what we meant.
//! (b) psrpcore serializes its own corpus; we read it; our reading must be
//!     what psrpcore meant.
//!
//! Values are compared in a canonical JSON form (see
//! `tests/psrpcore_clixml/canon.py`). SecureString is left out: psrpcore
//! needs a session key to read or write one.
//!
//! Skipped, with a message, when the Python environment (`.venv`, made by
//! `scripts/setup.sh`) is missing.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::sync::Arc;

use psrp::clixml::{self, Content, PsObject, Value, Writer};

#[path = "psrpcore_clixml/bridge.rs"]
mod bridge;
use bridge::{canon, python, run};

fn names(n: &[&str]) -> Option<Arc<[String]>> {
    Some(n.iter().map(|s| (*s).to_owned()).collect())
}

fn obj(type_names: &[&str], content: Content) -> Value {
    Value::from(PsObject {
        type_names: names(type_names),
        content,
        ..Default::default()
    })
}

/// Our corpus: every primitive but SecureString, strings that need every
/// kind of escaping, and each complex shape.
fn corpus() -> Vec<Value> {
    let tricky = "tab\there\r\nnul\u{0} del\u{7f} c1\u{85} _x0041_ _X _x005F_ <&>\"' \u{1F600} é中 \u{FFFD} \u{FFFF}";
    let list_tn = &["System.Collections.ArrayList", "System.Object"];
    let mut custom = PsObject::with_properties(
        &[
            "System.Management.Automation.PSCustomObject",
            "System.Object",
        ],
        [
            ("Name", Value::from("svc_x0041_")),
            ("Id", Value::I32(4)),
            ("A B\t_x", Value::from("c\nd")),
        ],
    );
    custom
        .adapted
        .push(("Adapted_x0020_".into(), Value::U64(7)));
    custom.to_string = Some("to string _x \u{1}".into());
    vec![
        Value::Null,
        Value::Bool(true),
        Value::Bool(false),
        Value::from(""),
        Value::from("plain"),
        Value::from(tricky),
        Value::Char(65),
        Value::Char(0x263A),
        Value::U8(255),
        Value::I8(-128),
        Value::U16(65535),
        Value::I16(-32768),
        Value::U32(u32::MAX),
        Value::I32(i32::MIN),
        Value::U64(u64::MAX),
        Value::I64(i64::MIN),
        Value::F32(1.5),
        Value::F32(0.1),
        Value::F32(f32::NEG_INFINITY),
        Value::F64(0.1),
        Value::F64(-f64::MAX),
        Value::F64(5e-324),
        Value::F64(f64::INFINITY),
        Value::F64(f64::NAN),
        Value::Decimal("-79228162514264337593543950335".into()),
        Value::Decimal("12.50".into()),
        Value::Bytes(vec![]),
        Value::Bytes((0..=255).collect()),
        Value::Guid("792e5b37-4505-47ef-b7d2-8711bb7affa8".parse().unwrap()),
        Value::Uri("http://host:5985/wsman?a=1&b=_x".into()),
        Value::Version("10.0.17763.1".into()),
        Value::Version("2.3".into()),
        Value::XmlDocument("<a b=\"c\">d</a>".into()),
        Value::ScriptBlock("Get-Process | Where-Object { $_.CPU -gt 10 }\n".into()),
        Value::DateTime("2008-04-11T10:42:32.2731993-07:00".into()),
        Value::DateTime("2024-01-02T03:04:05.123456Z".into()),
        Value::DateTime("1999-12-31T23:59:59".into()),
        Value::Duration("PT9.0269026S".into()),
        Value::Duration("P1DT2H3M4.5S".into()),
        Value::Duration("PT0S".into()),
        obj(
            list_tn,
            Content::List(vec![
                Value::I32(1),
                Value::from("two"),
                Value::Null,
                obj(list_tn, Content::List(vec![Value::I64(3)])),
            ]),
        ),
        obj(list_tn, Content::List(vec![])),
        obj(
            &["System.Collections.Stack", "System.Object"],
            Content::Stack(vec![Value::I32(3), Value::I32(2)]),
        ),
        obj(
            &["System.Collections.Queue", "System.Object"],
            Content::Queue(vec![Value::from("first"), Value::I32(2)]),
        ),
        obj(
            &["System.Collections.Hashtable", "System.Object"],
            Content::Dictionary(vec![
                (Value::from("a"), Value::I32(1)),
                (Value::from("with space_x"), Value::Null),
                (
                    Value::I32(5),
                    obj(list_tn, Content::List(vec![Value::from("x")])),
                ),
            ]),
        ),
        obj(
            &["System.Collections.Hashtable", "System.Object"],
            Content::Dictionary(vec![]),
        ),
        Value::from(PsObject {
            type_names: names(&[
                "My.Color",
                "System.Enum",
                "System.ValueType",
                "System.Object",
            ]),
            to_string: Some("Red".into()),
            content: Content::Primitive(Value::I32(2)),
            ..Default::default()
        }),
        Value::from(PsObject {
            content: Content::Primitive(Value::from("a string with a note")),
            extended: vec![("Note_x".into(), Value::I32(7))],
            ..Default::default()
        }),
        Value::from(custom),
    ]
}

#[test]
fn psrpcore_reads_what_we_write() {
    let Some(py) = python() else { return };
    let values = corpus();
    let mut doc = String::new();
    Writer::new(&mut doc).write_document(&values);
    let theirs = run(&py, "deserialize.py", &doc);
    let theirs = theirs.as_array().expect("a list");
    assert_eq!(theirs.len(), values.len(), "value count");
    for (i, (ours, theirs)) in values.iter().zip(theirs).enumerate() {
        assert_eq!(
            &canon(ours),
            theirs,
            "value {i}: psrpcore read our {:?} differently; we wrote {}",
            ours,
            clixml::to_string(ours)
        );
    }
    println!("psrpcore read all {} values as meant", values.len());
}

#[test]
fn we_read_what_psrpcore_writes() {
    let Some(py) = python() else { return };
    let out = run(&py, "serialize.py", "");
    let xml = out["clixml"].as_str().expect("clixml");
    let expected = out["expected"].as_array().expect("expected");
    let ours: Vec<Value> = clixml::Reader::new(xml.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(ours.len(), expected.len(), "value count");
    for (i, (v, want)) in ours.iter().zip(expected).enumerate() {
        assert_eq!(&canon(v), want, "value {i}: we read {v:?}");
    }
    println!("we read all {} psrpcore values as meant", ours.len());
}
