//! Property tests: writing any value as CLIXML and reading it back gives the
//! same value ([MS-PSRP] 2.2.5), for strings of arbitrary Unicode with control
//! characters, `_x` sequences and characters outside the BMP (surrogate pairs
//! on the wire), in values, property names and ToString, and for nested
//! objects, lists, stacks, queues and dictionaries.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::sync::Arc;

use proptest::prelude::*;
use psrp::clixml::{self, Content, PsObject, Value};

/// Strings built from pieces that stress the `_xHHHH_` encoding, plus
/// arbitrary characters.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("_x".to_owned()),
        Just("_X".to_owned()),
        Just("_x0041_".to_owned()),
        Just("_x005F_".to_owned()),
        Just("_xD83D_".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{FFFE}\u{FFFF}".to_owned()),
        Just("<&>\"'".to_owned()),
        Just("  ".to_owned()),
        any::<char>().prop_map(String::from),
        "[a-zA-Z0-9 ]{0,8}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn float64() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn float32() -> impl Strategy<Value = f32> {
    prop_oneof![
        prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO,
        Just(f32::INFINITY),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        text().prop_map(Value::String),
        any::<u16>().prop_map(Value::Char),
        any::<bool>().prop_map(Value::Bool),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,16}(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(Value::DateTime),
        "-?P([0-9]{1,3}D)?T[0-9]{1,2}H[0-9]{1,2}M[0-9]{1,2}(\\.[0-9]{1,7})?S"
            .prop_map(Value::Duration),
        any::<u8>().prop_map(Value::U8),
        any::<i8>().prop_map(Value::I8),
        any::<u16>().prop_map(Value::U16),
        any::<i16>().prop_map(Value::I16),
        any::<u32>().prop_map(Value::U32),
        any::<i32>().prop_map(Value::I32),
        any::<u64>().prop_map(Value::U64),
        any::<i64>().prop_map(Value::I64),
        float32().prop_map(Value::F32),
        float64().prop_map(Value::F64),
        "-?[0-9]{1,28}(\\.[0-9]{1,10})?".prop_map(Value::Decimal),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        any::<u128>().prop_map(|n| Value::Guid(uuid::Uuid::from_u128(n))),
        text().prop_map(Value::Uri),
        "[0-9]{1,5}(\\.[0-9]{1,5}){1,3}".prop_map(Value::Version),
        text().prop_map(Value::XmlDocument),
        text().prop_map(Value::ScriptBlock),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::SecureString),
    ]
}

fn type_names() -> impl Strategy<Value = Option<Arc<[String]>>> {
    prop::option::of(
        prop::collection::vec("[A-Za-z0-9._`\\[\\], +]{0,24}", 0..4).prop_map(Arc::from),
    )
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        let content = prop_oneof![
            Just(Content::None),
            leaf().prop_map(Content::Primitive),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Content::List),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Content::Stack),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Content::Queue),
            prop::collection::vec((leaf(), inner.clone()), 0..4).prop_map(Content::Dictionary),
        ];
        let members = || prop::collection::vec((text(), inner.clone()), 0..4);
        (
            type_names(),
            prop::option::of(text()),
            content,
            members(),
            members(),
        )
            .prop_map(|(type_names, to_string, content, adapted, extended)| {
                Value::from(PsObject {
                    type_names,
                    to_string,
                    content,
                    adapted,
                    extended,
                })
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialize_then_deserialize_is_identity(v in value()) {
        let xml = clixml::to_string(&v);
        let back = clixml::from_str(&xml);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, xml);
        prop_assert_eq!(back.unwrap(), v, "{}", xml);
    }

    #[test]
    fn documents_of_many_values_stream_back(vs in prop::collection::vec(value(), 0..6)) {
        let mut xml = String::new();
        clixml::Writer::new(&mut xml).write_document(&vs);
        let back: Result<Vec<Value>, _> = clixml::Reader::new(xml.as_bytes()).collect();
        prop_assert_eq!(back.unwrap(), vs);
    }

    #[test]
    fn escape_then_unescape_is_identity(s in text()) {
        let escaped = clixml::escape(&s);
        prop_assert!(!escaped.chars().any(|c| c.is_control() || (c as u32) > 0xFFFF));
        prop_assert_eq!(quick_xml_unescape(&escaped), s);
    }
}

/// XML unescaping of the five predefined entities, then `_xHHHH_` decoding.
fn quick_xml_unescape(s: &str) -> String {
    let xml = s
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    clixml::unescape(&xml).into_owned()
}
