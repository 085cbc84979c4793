//! A simple, generic XML-to-JSON conversion for showing resources
//! (`wsman get --json`, enumeration items).
//!
//! Rules: an element becomes `{"Name": value}` keyed by its local name; an
//! element with only text becomes a string; `xsi:nil="true"` becomes
//! `null`; attributes become `"@name"` keys and text beside children or
//! attributes becomes `"#text"`; repeated child names become arrays.
//! Namespace declarations are dropped. Bounded like every parser here.
use serde_json::{Map, Value};

use super::ns;
use super::xml::{as_text, Ev, Reader};
use crate::error::Result;

struct Frame {
    name: String,
    attrs: Vec<(String, String)>,
    nil: bool,
    text: String,
    children: Map<String, Value>,
}

fn insert(map: &mut Map<String, Value>, key: String, v: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, v);
        }
        Some(Value::Array(a)) => a.push(v),
        Some(existing) => {
            let old = existing.take();
            *existing = Value::Array(vec![old, v]);
        }
    }
}

/// Converts one XML element (and its subtree) to JSON: `{"Root": ...}`.
pub fn xml_to_json(xml: &str) -> Result<Value> {
    let text = as_text(xml.as_bytes())?;
    let mut r = Reader::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = Map::new();
    while let Some(ev) = r.next()? {
        match ev {
            Ev::Start(s) => {
                let nil = s.attrs.iter().any(|a| {
                    a.local == "nil" && a.ns.as_deref() == Some(ns::XSI) && a.value.trim() == "true"
                });
                let attrs = s
                    .attrs
                    .iter()
                    .filter(|a| a.ns.as_deref() != Some(ns::XSI) || a.local != "nil")
                    .map(|a| (format!("@{}", a.local), a.value.clone()))
                    .collect();
                stack.push(Frame {
                    name: s.local,
                    attrs,
                    nil,
                    text: String::new(),
                    children: Map::new(),
                });
            }
            Ev::Text(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t);
                }
            }
            Ev::End { .. } => {
                let Some(f) = stack.pop() else { break };
                let value = if f.nil {
                    Value::Null
                } else if f.attrs.is_empty() && f.children.is_empty() {
                    Value::String(f.text.trim().to_owned())
                } else {
                    let mut m = Map::new();
                    for (k, v) in f.attrs {
                        m.insert(k, Value::String(v));
                    }
                    for (k, v) in f.children {
                        m.insert(k, v);
                    }
                    let t = f.text.trim();
                    if !t.is_empty() {
                        m.insert("#text".into(), Value::String(t.to_owned()));
                    }
                    Value::Object(m)
                };
                match stack.last_mut() {
                    Some(parent) => insert(&mut parent.children, f.name, value),
                    None => insert(&mut root, f.name, value),
                }
            }
        }
    }
    Ok(Value::Object(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_text_attrs_arrays_and_nil() {
        let v = xml_to_json(
            r#"<p:Svc xmlns:p="urn:p" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><p:Name>WinRM</p:Name><p:Dep>a</p:Dep><p:Dep>b</p:Dep><p:Desc xsi:nil="true"/><p:X k="1">t</p:X></p:Svc>"#,
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Svc": {"Name": "WinRM", "Dep": ["a", "b"], "Desc": null, "X": {"@k": "1", "#text": "t"}}})
        );
    }

    #[test]
    fn keys_keep_the_document_order() {
        let v = xml_to_json(r#"<p:Svc xmlns:p="urn:p" z="1" a="2"><p:Zeta>1</p:Zeta><p:Alpha>2</p:Alpha><p:Mid>3</p:Mid><p:Zeta>4</p:Zeta></p:Svc>"#).unwrap();
        let keys: Vec<_> = v["Svc"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["@z", "@a", "Zeta", "Alpha", "Mid"]);
    }
}
