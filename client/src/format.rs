//! How output objects are printed: strings as they are, other objects in a
//! text form close to what PowerShell's default formatter shows, or as one
//! JSON object per line with `--json`.
use psrp::clixml::{Content, PsObject, Value};
use std::fmt::Write;

/// The text PowerShell would print for `value` as a pipeline output.
pub fn to_text(value: &Value) -> String {
    let mut out = String::new();
    write_text(&mut out, value);
    out
}

fn write_text(out: &mut String, value: &Value) {
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
                        out.push('{');
                        for (i, item) in items.iter().enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            out.push_str(&to_inline(item));
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

fn type_name(obj: &PsObject) -> Option<&str> {
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
        Value::DateTime(s) | Value::Duration(s) | Value::Decimal(s) => {
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
        Value::F32(n) => write_float(out, f64::from(*n)),
        Value::F64(n) => write_float(out, *n),
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

fn write_float(out: &mut String, n: f64) -> std::fmt::Result {
    if n.is_nan() {
        out.push_str("NaN");
        Ok(())
    } else if n.is_infinite() {
        out.push_str(if n > 0.0 { "Infinity" } else { "-Infinity" });
        Ok(())
    } else {
        write!(out, "{n}")
    }
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
