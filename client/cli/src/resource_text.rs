//! A WS-Management resource as readable `Name : Value` text, as
//! Get-WSManInstance prints one: the root element's children in the
//! document's order, names padded to one column, nested elements indented
//! under their name, repeated elements once per value.
use serde_json::Value as Json;

/// The text of a resource given as JSON ([`wsman::soap::json::xml_to_json`]):
/// the root element's properties, one per line.
pub fn resource_text(v: &Json) -> String {
    let mut out = String::new();
    // The root element (`{"Config": {...}}`) is the resource itself.
    match v {
        Json::Object(m) if m.len() == 1 => {
            let (_, inner) = m.iter().next().expect("one entry");
            write_value(&mut out, inner, 0);
        }
        other => write_value(&mut out, other, 0),
    }
    out
}

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::Null => Some(String::new()),
        Json::String(s) => Some(s.clone()),
        Json::Bool(_) | Json::Number(_) => Some(v.to_string()),
        Json::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => Some(
            items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}

fn write_value(out: &mut String, v: &Json, depth: usize) {
    let indent = "    ".repeat(depth);
    let Json::Object(m) = v else {
        if let Some(s) = scalar(v) {
            out.push_str(&format!("{indent}{s}\n"));
        } else if let Json::Array(items) = v {
            for i in items {
                write_value(out, i, depth);
            }
        }
        return;
    };
    // Attributes (`@lang`, `@type`) show under their own names, as
    // PowerShell's view of an XmlElement shows them.
    let width = m
        .keys()
        .map(|k| k.trim_start_matches('@').chars().count())
        .max()
        .unwrap_or(0);
    for (k, val) in m {
        let k = k.trim_start_matches('@');
        match scalar(val) {
            Some(s) => out.push_str(&format!("{indent}{k:<width$} : {s}\n")),
            None => match val {
                Json::Array(items) => {
                    for i in items {
                        match scalar(i) {
                            Some(s) => out.push_str(&format!("{indent}{k:<width$} : {s}\n")),
                            None => {
                                out.push_str(&format!("{indent}{k}\n"));
                                write_value(out, i, depth + 1);
                            }
                        }
                    }
                }
                _ => {
                    out.push_str(&format!("{indent}{k}\n"));
                    write_value(out, val, depth + 1);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_elements_are_indented() {
        let v = json!({"Config": {
            "MaxEnvelopeSizekb": "500",
            "Client": {"NetworkDelayms": "5000", "Auth": {"Basic": "true"}},
            "Listener": [{"Port": "5985"}, {"Port": "5986"}],
            "Names": ["a", "b"],
        }});
        let t = resource_text(&v);
        assert!(t.contains("MaxEnvelopeSizekb : 500\n"), "{t}");
        // The document's order, not the alphabet's.
        assert!(
            t.contains("Client\n    NetworkDelayms : 5000\n    Auth\n        Basic : true\n"),
            "{t}"
        );
        assert!(
            t.contains("Listener\n    Port : 5985\nListener\n    Port : 5986\n"),
            "{t}"
        );
        assert!(t.contains(&format!("{:<17} : a, b\n", "Names")), "{t}");
    }

    #[test]
    fn fields_come_in_the_documents_order() {
        let xml = r#"<p:Win32_Service xmlns:p="urn:p"><p:State>Running</p:State><p:Name>WinRM</p:Name><p:AcceptStop>true</p:AcceptStop></p:Win32_Service>"#;
        let t = resource_text(&wsman::soap::json::xml_to_json(xml).unwrap());
        assert_eq!(
            t,
            "State      : Running\nName       : WinRM\nAcceptStop : true\n"
        );
    }
}
