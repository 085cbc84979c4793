//! Conversion of CLIXML values to JSON for `--json` output.
//!
//! The shape is documented on [`Value::to_json`].
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

use super::value::{Content, PsObject, Value};

impl Value {
    /// This value as JSON for `--json` output ([MS-PSRP] 2.2.5).
    ///
    /// The shape follows what `ConvertTo-Json` gives for the same live objects,
    /// so scripts written against PowerShell's JSON keep working:
    ///
    /// | CLIXML ([MS-PSRP] 2.2.5)                       | JSON                                      |
    /// |------------------------------------------------|-------------------------------------------|
    /// | `Nil`                                          | `null`                                    |
    /// | `S`, `C`, `DT`, `TS`, `URI`, `Version`, `XD`, `SBK` | string (a char as a one-char string) |
    /// | `B`                                            | `true` / `false`                          |
    /// | integers, `Db`, `Sg`, `D`                      | number (`INF`, `-INF`, `NaN` as the strings `"Infinity"`, `"-Infinity"`, `"NaN"`; a decimal as the nearest `f64`) |
    /// | `BA`                                           | base64 string                             |
    /// | `G`                                            | string, lowercase hyphenated              |
    /// | `SS`                                           | `{"@type": "System.Security.SecureString"}` (never the cipher text) |
    /// | `LST`, `IE`, `STK`, `QUE`                      | array                                     |
    /// | `DCT`                                          | object when every key is a string, else array of `{"Key":…, "Value":…}` |
    /// | enum or other wrapped primitive without notes  | the primitive (an enum is its number, as `ConvertTo-Json` does) |
    /// | property bag                                   | object: adapted then extended properties, an extended one winning a name clash |
    ///
    /// Type names are left out by default, as `ConvertTo-Json` does;
    /// [`Value::to_json_with_types`] adds the most derived one under the key
    /// `"@type"` to every property bag (and `"@value"` holds a wrapped primitive
    /// that also has properties). Objects' keys come out in `serde_json`'s
    /// map order (sorted, unless its `preserve_order` feature is on).
    ///
    /// ```
    /// use psrp::clixml::{self, Value};
    /// let v = clixml::from_str(r#"<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.Process</T></TN><Props><S N="Name">pwsh</S><I32 N="Id">4</I32><Db N="CPU">INF</Db></Props></Obj>"#)?;
    /// assert_eq!(v.to_json(), serde_json::json!({"Name": "pwsh", "Id": 4, "CPU": "Infinity"}));
    /// assert_eq!(v.to_json_with_types()["@type"], "System.Diagnostics.Process");
    /// # Ok::<(), clixml::Error>(())
    /// ```
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    pub fn to_json(&self) -> Json {
        to_json(self, false)
    }

    /// This value as JSON with each property bag's most derived type name
    /// under `"@type"`, see [`Value::to_json`].
    pub fn to_json_with_types(&self) -> Json {
        to_json(self, true)
    }
}

fn float(f: f64) -> Json {
    match Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None if f.is_nan() => Json::String("NaN".into()),
        None if f > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

fn to_json(v: &Value, types: bool) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::String(s)
        | Value::DateTime(s)
        | Value::Duration(s)
        | Value::Uri(s)
        | Value::Version(s)
        | Value::XmlDocument(s)
        | Value::ScriptBlock(s) => Json::String(s.clone()),
        Value::Char(_) => Json::String(v.to_string()),
        Value::Bool(b) => Json::Bool(*b),
        Value::U8(n) => (*n).into(),
        Value::I8(n) => (*n).into(),
        Value::U16(n) => (*n).into(),
        Value::I16(n) => (*n).into(),
        Value::U32(n) => (*n).into(),
        Value::I32(n) => (*n).into(),
        Value::U64(n) => (*n).into(),
        Value::I64(n) => (*n).into(),
        Value::F32(f) => float(f64::from(*f)),
        Value::F64(f) => float(*f),
        Value::Decimal(d) => match d.parse::<f64>() {
            Ok(f) => float(f),
            Err(_) => Json::String(d.clone()),
        },
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Guid(g) => Json::String(g.hyphenated().to_string()),
        Value::SecureString(_) => {
            let mut m = Map::new();
            m.insert("@type".into(), "System.Security.SecureString".into());
            Json::Object(m)
        }
        Value::Object(o) => object(o, types),
    }
}

fn object(o: &PsObject, types: bool) -> Json {
    let bag = !o.adapted.is_empty() || !o.extended.is_empty();
    match &o.content {
        Content::List(items) | Content::Stack(items) | Content::Queue(items) => {
            return Json::Array(items.iter().map(|v| to_json(v, types)).collect())
        }
        Content::Dictionary(entries) => {
            if entries.iter().all(|(k, _)| k.as_str().is_some()) {
                let mut m = Map::new();
                for (k, v) in entries {
                    m.insert(k.as_str().unwrap_or_default().to_owned(), to_json(v, types));
                }
                return Json::Object(m);
            }
            return Json::Array(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let mut m = Map::new();
                        m.insert("Key".into(), to_json(k, types));
                        m.insert("Value".into(), to_json(v, types));
                        Json::Object(m)
                    })
                    .collect(),
            );
        }
        Content::Primitive(p) if !bag => return to_json(p, types),
        Content::None if !bag => {
            if let Some(s) = &o.to_string {
                return Json::String(s.clone());
            }
        }
        _ => {}
    }
    let mut m = Map::new();
    if types {
        if let Some(t) = o.type_name() {
            m.insert("@type".into(), t.into());
        }
    }
    match &o.content {
        // A wrapped object's properties come through `properties()`.
        Content::Primitive(Value::Object(_)) => {}
        Content::Primitive(p) => {
            m.insert("@value".into(), to_json(p, types));
        }
        _ => {}
    }
    for (n, v) in o.properties() {
        m.insert(n.to_owned(), to_json(v, types));
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let list = Value::from(PsObject {
            content: Content::List(vec![Value::I32(1), Value::F64(f64::INFINITY), Value::Null]),
            ..Default::default()
        });
        assert_eq!(list.to_json(), json!([1, "Infinity", null]));
        let dict = Value::from(PsObject {
            content: Content::Dictionary(vec![("a".into(), Value::Bool(true))]),
            ..Default::default()
        });
        assert_eq!(dict.to_json(), json!({"a": true}));
        let mut p = PsObject::with_properties(
            &["System.Diagnostics.Process"],
            [("Name", Value::from("x"))],
        );
        p.adapted.push(("Name".into(), Value::from("hidden")));
        p.adapted.push(("Id".into(), Value::I32(4)));
        let p = Value::from(p);
        assert_eq!(p.to_json(), json!({"Id": 4, "Name": "x"}));
        assert_eq!(
            p.to_json_with_types(),
            json!({"@type": "System.Diagnostics.Process", "Id": 4, "Name": "x"})
        );
        let e = Value::from(PsObject {
            to_string: Some("Opened".into()),
            content: Content::Primitive(Value::I32(2)),
            ..Default::default()
        });
        assert_eq!(e.to_json(), json!(2));
    }
}
