//! How output objects are printed: strings as they are, other objects as
//! PowerShell's console shows them ([`OutDefault`]: tables, lists and the
//! views of PowerShell's format data), numbers and dates in the en-US forms
//! of Windows PowerShell 5.1 ([`number`]), a deserialized Local date in the
//! client's time zone ([`local_time`]).
use psrp::clixml::{Content, PsObject, Value};
use std::fmt::Write;

pub mod local_time;
pub mod number;
mod out_default;
mod views;
mod wrap;

pub use out_default::{OutDefault, DEFAULT_WIDTH, LIST_MIN_PROPERTIES, TABLE_SAMPLE};

/// `$FormatEnumerationLimit`: the items of a collection a cell shows.
pub const ENUMERATION_LIMIT: usize = 4;

/// The text of `value` on its own: a string as it is, a number or date as
/// the console shows it, an object as one list (see [`OutDefault`] for a
/// stream of objects as the console lays them out).
pub fn to_text(value: &Value) -> String {
    let mut out = String::new();
    write_text(&mut out, value);
    out
}

pub(crate) fn write_text(out: &mut String, value: &Value) {
    match value {
        Value::Object(obj) => write_object(out, obj),
        other => write_scalar(out, other),
    }
}

/// A single-line rendering of a value (used for property values).
pub fn to_inline(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(obj) => {
            if let Some(s) = &obj.to_string {
                out.push_str(s);
            } else {
                match &obj.content {
                    Content::Primitive(v) => write_scalar(&mut out, v),
                    Content::List(items) | Content::Stack(items) | Content::Queue(items) => {
                        // {1, 2, 3, 4...}: $FormatEnumerationLimit items.
                        out.push('{');
                        for (i, item) in items.iter().take(ENUMERATION_LIMIT).enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            out.push_str(&to_inline(item));
                        }
                        if items.len() > ENUMERATION_LIMIT {
                            out.push_str("...");
                        }
                        out.push('}');
                    }
                    Content::None if !obj.adapted.is_empty() || !obj.extended.is_empty() => {
                        // A custom object in a cell: @{a=1; b=x}.
                        out.push_str("@{");
                        let props = obj.adapted.iter().chain(obj.extended.iter());
                        for (i, (name, v)) in props.enumerate() {
                            if i > 0 {
                                out.push_str("; ");
                            }
                            out.push_str(name);
                            out.push('=');
                            out.push_str(&to_inline(v));
                        }
                        out.push('}');
                    }
                    _ => out.push_str(type_name(obj).unwrap_or("")),
                }
            }
        }
        other => write_scalar(&mut out, other),
    }
    out
}

pub(crate) fn type_name(obj: &PsObject) -> Option<&str> {
    obj.type_names
        .as_ref()
        .and_then(|t| t.first())
        .map(|s| s.as_str())
}

fn write_scalar(out: &mut String, value: &Value) {
    let _ = match value {
        Value::Null => Ok(()),
        Value::String(s) | Value::Uri(s) | Value::Version(s) | Value::XmlDocument(s) => {
            out.push_str(s);
            Ok(())
        }
        Value::ScriptBlock(s) => {
            out.push_str(s);
            Ok(())
        }
        Value::Char(c) => {
            out.push(char::from_u32(u32::from(*c)).unwrap_or(char::REPLACEMENT_CHARACTER));
            Ok(())
        }
        Value::Bool(b) => {
            out.push_str(if *b { "True" } else { "False" });
            Ok(())
        }
        Value::DateTime(s) => {
            out.push_str(&number::date_time(s));
            Ok(())
        }
        Value::Duration(s) | Value::Decimal(s) => {
            out.push_str(s);
            Ok(())
        }
        Value::U8(n) => write!(out, "{n}"),
        Value::I8(n) => write!(out, "{n}"),
        Value::U16(n) => write!(out, "{n}"),
        Value::I16(n) => write!(out, "{n}"),
        Value::U32(n) => write!(out, "{n}"),
        Value::I32(n) => write!(out, "{n}"),
        Value::U64(n) => write!(out, "{n}"),
        Value::I64(n) => write!(out, "{n}"),
        Value::F32(n) => {
            out.push_str(&number::single(*n));
            Ok(())
        }
        Value::F64(n) => {
            out.push_str(&number::double(*n));
            Ok(())
        }
        Value::Bytes(b) => {
            // PowerShell prints a byte array one byte per line.
            for (i, byte) in b.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = write!(out, "{byte}");
            }
            Ok(())
        }
        Value::Guid(g) => write!(out, "{g}"),
        Value::SecureString(_) => {
            out.push_str("System.Security.SecureString");
            Ok(())
        }
        Value::Object(o) => {
            out.push_str(&to_inline(&Value::Object(o.clone())));
            Ok(())
        }
    };
}

fn write_object(out: &mut String, obj: &PsObject) {
    let props: Vec<&(String, Value)> = obj.adapted.iter().chain(obj.extended.iter()).collect();
    match &obj.content {
        Content::Primitive(v) if props.is_empty() || obj.to_string.is_none() => {
            // An enum or a wrapped primitive prints as its ToString or value.
            match &obj.to_string {
                Some(s) => out.push_str(s),
                None => write_scalar(out, v),
            }
            return;
        }
        Content::List(items) | Content::Stack(items) | Content::Queue(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                write_text(out, item);
            }
            return;
        }
        Content::Dictionary(pairs) => {
            let width = pairs
                .iter()
                .map(|(k, _)| to_inline(k).chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let _ = write!(out, "{:<width$} Value\n{:<width$} -----", "Name", "----");
            for (k, v) in pairs {
                let _ = write!(out, "\n{:<width$} {}", to_inline(k), to_inline(v));
            }
            return;
        }
        _ => {}
    }
    if props.is_empty() {
        if let Some(s) = &obj.to_string {
            out.push_str(s);
        } else if let Some(t) = type_name(obj) {
            out.push_str(t);
        }
        return;
    }
    // PowerShell's list view: "Name : Value", names padded to the longest.
    let width = props
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (i, (name, value)) in props.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{name:<width$} : {}", to_inline(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn strings_print_as_they_are() {
        assert_eq!(to_text(&Value::String("a b\tc".into())), "a b\tc");
        assert_eq!(to_text(&Value::I32(42)), "42");
        assert_eq!(to_text(&Value::Bool(true)), "True");
        assert_eq!(to_text(&Value::Null), "");
    }

    #[test]
    fn objects_print_as_a_list_of_properties() {
        let obj = PsObject {
            type_names: Some(Arc::from(vec!["System.Diagnostics.Process".to_string()])),
            adapted: vec![
                ("Name".into(), Value::String("pwsh".into())),
                ("Id".into(), Value::I32(4242)),
            ],
            ..Default::default()
        };
        assert_eq!(
            to_text(&Value::Object(Box::new(obj))),
            "Name : pwsh\nId   : 4242"
        );
    }

    #[test]
    fn enums_print_their_name() {
        let obj = PsObject {
            to_string: Some("Running".into()),
            content: Content::Primitive(Value::I32(4)),
            ..Default::default()
        };
        assert_eq!(to_text(&Value::Object(Box::new(obj))), "Running");
    }
}
