//! Every CLIXML document in the recorded Windows traffic
//! (`fixtures/recordings`) parses, and re-serializes to CLIXML that parses
//! back to an equal value ([MS-PSRP] 2.2.5).
//!
//! Sources: PSRP messages carried base64 in `rsp:Stream`, `creationXml`,
//! `connectXml` and `rsp:Arguments` of the pypsrp and pywinrm recordings
//! (reassembled from their 21-byte-header fragments, 2.2.4, with a small
//! local reassembler, then past the 40-byte message header, 2.2.1), the
//! `#< CLIXML` text PowerShell writes to a winrs stdout/stderr, the pypsrp
//! `data/*.xml` files and the WinRb clixml stubs.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use psrp::clixml::{self, Value};

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    // Numeric order for `<n>-request.xml` / `<n>-response.xml` sequences.
    entries.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let n: u32 = name
            .split('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let second = u8::from(name.contains("response"));
        (n, second, name)
    });
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The attributes and base64 text of each `<tag ...>` ... `</tag>` of `text`.
fn base64_in<'t>(text: &'t str, tag: &str) -> Vec<(&'t str, &'t str)> {
    let mut out = Vec::new();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        // The tag name must end here (`rsp:Stream`, not `rsp:Streams`).
        if !rest.starts_with([' ', '>']) {
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        if rest[..gt].ends_with('/') {
            continue;
        }
        let body = &rest[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push((&rest[..gt], body[..end].trim()));
        rest = &body[end..];
    }
    out
}

/// A minimal PSRP fragment reassembler (2.2.4): ObjectId u64 BE, FragmentId
/// u64 BE, flags (bit 0 start, bit 1 end), BlobLength u32 BE, blob.
#[derive(Default)]
struct Reassembler {
    partial: HashMap<u64, Vec<u8>>,
}

impl Reassembler {
    /// The complete messages in `data`, or `None` when `data` is not a
    /// sequence of fragments (plain winrs output, for example).
    fn feed(&mut self, data: &[u8]) -> Option<Vec<Vec<u8>>> {
        let mut frags = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            if rest.len() < 21 {
                return None;
            }
            let object_id = u64::from_be_bytes(rest[..8].try_into().unwrap());
            let flags = rest[16];
            let len = u32::from_be_bytes(rest[17..21].try_into().unwrap()) as usize;
            if flags & !3 != 0 || rest.len() < 21 + len {
                return None;
            }
            frags.push((object_id, flags, &rest[21..21 + len]));
            rest = &rest[21 + len..];
        }
        let mut done = Vec::new();
        for (id, flags, blob) in frags {
            if flags & 1 != 0 {
                self.partial.insert(id, Vec::new());
            }
            let Some(buf) = self.partial.get_mut(&id) else {
                continue;
            };
            buf.extend_from_slice(blob);
            if flags & 2 != 0 {
                done.push(self.partial.remove(&id).unwrap());
            }
        }
        Some(done)
    }
}

/// A CLIXML document found in the recordings, and where.
struct Doc {
    origin: String,
    xml: Vec<u8>,
}

/// Replaces the ERB placeholders of the WinRb stubs with sample values.
fn fill_erb(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("<%=") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("%>").map_or(rest.len(), |e| i + e + 2);
        let name = rest[i + 3..end - 2].trim();
        out.push_str(match name {
            "pipeline_state" => "3",
            "command_id" => "9c2de6b2-6b5b-4f72-9d2b-5b7b5b3c7a11",
            _ => "sample &amp; text_x000A_",
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The CLIXML text after PowerShell's `#< CLIXML` marker, if `data` has it.
fn after_marker(data: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    let i = text.find("#< CLIXML")?;
    Some(text[i + "#< CLIXML".len()..].trim().as_bytes().to_vec())
}

fn collect_docs() -> (Vec<Doc>, usize) {
    let mut files = Vec::new();
    files_under(&recordings(), &mut files);
    let mut docs = Vec::new();
    let mut messages = 0;
    let mut stream_state: HashMap<PathBuf, Reassembler> = HashMap::new();
    let mut text_streams: HashMap<(String, String), Vec<u8>> = HashMap::new();
    for path in files {
        let name = path.to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if name.ends_with(".xml.erb") {
            if name.contains("/clixml/") {
                docs.push(Doc {
                    origin: name.clone(),
                    xml: fill_erb(&text).into_bytes(),
                });
            }
            continue;
        }
        if let Some(xml) = after_marker(text.as_bytes()) {
            if text.trim_start().starts_with("#< CLIXML") {
                docs.push(Doc {
                    origin: name.clone(),
                    xml,
                });
                continue;
            }
        }
        // One reassembler per conversation: a yml file, or a directory of
        // numbered request/response files.
        let key = if name.ends_with(".yml") {
            path.clone()
        } else {
            path.parent().unwrap().to_path_buf()
        };
        let key_str = key.to_string_lossy().into_owned();
        let reassembler = stream_state.entry(key).or_default();
        for tag in ["rsp:Stream", "creationXml", "connectXml", "rsp:Arguments"] {
            for (attrs, b64) in base64_in(&text, tag) {
                let Ok(data) = base64::engine::general_purpose::STANDARD.decode(b64) else {
                    continue;
                };
                match reassembler.feed(&data) {
                    Some(complete) => {
                        for msg in complete {
                            messages += 1;
                            if msg.len() > 40 {
                                docs.push(Doc {
                                    origin: format!("{name} ({tag} message)"),
                                    xml: msg[40..].to_vec(),
                                });
                            }
                        }
                    }
                    None => {
                        // winrs output: `#< CLIXML` then an `<Objs>` document
                        // that may span several chunks of the same stream.
                        let stream = attrs.split("CommandId").next().unwrap_or("").to_owned();
                        let buf_key = (key_str.clone(), stream);
                        if let Some(xml) = after_marker(&data) {
                            text_streams.insert(buf_key.clone(), xml);
                        } else if let Some(buf) = text_streams.get_mut(&buf_key) {
                            buf.extend_from_slice(&data);
                        }
                        let complete = text_streams
                            .get(&buf_key)
                            .is_some_and(|b| b.windows(7).any(|w| w == b"</Objs>"));
                        if complete {
                            let xml = text_streams.remove(&buf_key).unwrap();
                            docs.push(Doc {
                                origin: format!("{name} ({tag} text)"),
                                xml,
                            });
                        }
                    }
                }
            }
        }
    }
    (docs, messages)
}

/// Serialize each value, parse it back, and compare.
fn round_trip(values: &[Value], origin: &str) {
    for v in values {
        let xml = clixml::to_string(v);
        let back = clixml::from_str(&xml)
            .unwrap_or_else(|e| panic!("{origin}: our output does not parse: {e}\n{xml}"));
        assert_eq!(&back, v, "{origin}: round trip changed the value\n{xml}");
    }
}

#[test]
fn every_recorded_clixml_document_parses_and_round_trips() {
    let (docs, messages) = collect_docs();
    let mut values = 0;
    let mut objects_with_type = 0;
    for doc in &docs {
        let parsed: Result<Vec<Value>, _> = clixml::Reader::new(&doc.xml).collect();
        let parsed = parsed.unwrap_or_else(|e| {
            panic!(
                "{}: {e}\n{}",
                doc.origin,
                String::from_utf8_lossy(&doc.xml[..doc.xml.len().min(2000)])
            )
        });
        assert!(!parsed.is_empty(), "{}: no value", doc.origin);
        objects_with_type += parsed
            .iter()
            .filter(|v| v.as_object().and_then(|o| o.type_name()).is_some())
            .count();
        values += parsed.len();
        round_trip(&parsed, &doc.origin);
    }
    println!(
        "{} documents ({messages} PSRP messages), {values} top-level values, {objects_with_type} typed objects",
        docs.len()
    );
    // The recordings hold hundreds of PSRP messages; finding few means the
    // extraction above broke, not that the parser is good.
    assert!(messages > 500, "only {messages} PSRP messages found");
    assert!(docs.len() > 500, "only {} documents found", docs.len());
}

#[test]
fn recorded_values_read_as_expected() {
    // A real SESSION_CAPABILITY and a real error on stderr, checked field by
    // field.
    let (docs, _) = collect_docs();
    let capability = docs
        .iter()
        .filter_map(|d| clixml::from_slice(&d.xml).ok())
        .find(|v| {
            v.as_object()
                .is_some_and(|o| o.property("protocolversion").is_some())
        })
        .expect("a SESSION_CAPABILITY message");
    let o = capability.as_object().unwrap();
    assert_eq!(
        o.property("protocolversion").unwrap().element_name(),
        "Version"
    );
    assert!(o.get_str("protocolversion").is_none());
    assert!(o.property("PSVersion").is_some());

    let path =
        recordings().join("pypsrp/tests/tests_pypsrp/data/test_sanitise_clixml_with_error.xml");
    let text = std::fs::read(path).unwrap();
    let xml = after_marker(&text).unwrap();
    let mut reader = clixml::Reader::new(&xml);
    let mut values = Vec::new();
    let mut streams = Vec::new();
    while let Some(v) = reader.next() {
        values.push(v.unwrap());
        streams.push(reader.stream().map(str::to_owned));
    }
    assert_eq!(streams[0].as_deref(), Some("progress"));
    assert_eq!(streams[2].as_deref(), Some("Error"));
    let record = values[0].as_object().unwrap().get_object("Record").unwrap();
    assert_eq!(
        record.get_str("Activity"),
        Some("Preparing modules for first use.")
    );
    assert_eq!(record.get_i64("PercentComplete"), Some(-1));
    assert_eq!(
        values[3].as_str(),
        Some("the spelling of the name, or if a path was included, verify that the path is correct and try again.\r\n")
    );
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Snippets a mutation may splice in: CLIXML tags in the wrong place,
/// references to missing ids, broken escapes, entities, a DOCTYPE.
const SNIPPETS: &[&[u8]] = &[
    b"<Obj RefId=\"0\">",
    b"</Obj>",
    b"<LST>",
    b"</LST>",
    b"<Ref RefId=\"0\" />",
    b"<Ref RefId=\"99\" />",
    b"<TNRef RefId=\"7\" />",
    b"<DCT><En><S N=\"Key\">k</S></En></DCT>",
    b"<I32>-</I32>",
    b"<Db>1e999</Db>",
    b"<BA>@@</BA>",
    b"<G>nope</G>",
    b"_xD800_",
    b"_x",
    b"&amp;",
    b"&bogus;",
    b"&#0;",
    b"<!DOCTYPE x [<!ENTITY e \"eeee\">]>",
    b"<![CDATA[x]]>",
    b"\xFF\xFE",
    b"<",
    b">",
    b"\"",
];

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                data.splice(at..at, s.iter().copied());
            }
            2 => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(256)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
            4 => data.truncate(at),
            _ => {
                // Deep nesting, to hit the depth limit.
                let depth = 50 + rng.below(100);
                let mut nest = b"<Obj><LST>".repeat(depth);
                nest.extend(b"</LST></Obj>".repeat(rng.below(depth + 1)));
                data.splice(at..at, nest);
            }
        }
    }
    data
}

#[test]
fn mutated_recordings_never_panic() {
    // What cargo-fuzz does (psrp/fuzz, target `clixml`), in small: thousands
    // of damaged real documents; each must give an error or a value, and a
    // value must serialize to CLIXML that reads back the same.
    let (docs, _) = collect_docs();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut errors) = (0, 0);
    for i in 0..10_000 {
        let seed = &docs[rng.below(docs.len())].xml;
        let input = mutate(seed, &mut rng);
        for v in clixml::Reader::new(&input) {
            match v {
                Ok(v) => {
                    ok += 1;
                    let once = clixml::to_string(&v);
                    let again = clixml::from_str(&once).unwrap_or_else(|e| {
                        panic!("input {i}: our output does not parse: {e}\n{once}")
                    });
                    assert_eq!(clixml::to_string(&again), once, "input {i}");
                }
                Err(e) => {
                    errors += 1;
                    assert!(e.position() <= input.len() as u64, "input {i}: {e}");
                    break;
                }
            }
        }
    }
    println!("10,000 mutated documents: {ok} values read, {errors} errors");
    assert!(
        ok > 300 && errors > 3000,
        "mutations too weak or too strong"
    );
}

#[path = "psrpcore_clixml/bridge.rs"]
mod bridge;

/// The canonical JSON in a form where two faithful readings agree:
/// adapted and extended properties merged into one map `"p"`; an `<Obj>`
/// whose content is another `<Obj>` (PowerShell wraps objects so) flattened
/// into one object, as psrpcore reads it (we keep both layers, and
/// [`PsObject::property`](psrp::clixml::PsObject::property) looks through),
/// and a bare `<Obj>` around a primitive read as that primitive;
/// DateTime text in psrpcore's rendering (`Z` for `+00:00`, no trailing
/// zeros in the fraction), since psrpcore keeps the instant, not the text.
fn normalized(j: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match j {
        J::Object(mut m) if m.get("t").and_then(J::as_str) == Some("Obj") => {
            let mut props = serde_json::Map::new();
            let mut content = m.remove("c").map(normalized).unwrap_or(J::Null);
            if let Some(inner) = content.get("prim").filter(|p| p["t"] == "Obj").cloned() {
                if let J::Object(p) = &inner["p"] {
                    props.extend(p.clone());
                }
                if m.get("ts") == Some(&J::Null) {
                    m.insert("ts".into(), inner["ts"].clone());
                }
                content = inner["c"].clone();
            }
            for bag in ["a", "e"] {
                if let Some(J::Array(items)) = m.remove(bag) {
                    for item in items {
                        if let J::Array(mut pair) = item {
                            let v = pair.pop().unwrap_or(J::Null);
                            let k = pair.pop().and_then(|k| k.as_str().map(str::to_owned));
                            props.insert(k.unwrap_or_default(), normalized(v));
                        }
                    }
                }
            }
            // A bare wrapper (no type names, ToString or properties) is the
            // value it wraps.
            if props.is_empty() && m.get("tn") == Some(&J::Null) && m.get("ts") == Some(&J::Null) {
                if let Some(p) = content.get("prim") {
                    return p.clone();
                }
            }
            m.insert("p".into(), J::Object(props));
            m.insert("c".into(), content);
            J::Object(m)
        }
        J::Object(mut m) if m.get("t").and_then(J::as_str) == Some("DT") => {
            if let Some(J::String(dt)) = m.get("v") {
                let mut dt = dt.replace("+00:00", "Z");
                if let Some(dot) = dt.find('.') {
                    let end = dt[dot..]
                        .find(|c: char| !c.is_ascii_digit() && c != '.')
                        .map_or(dt.len(), |e| dot + e);
                    let frac = dt[dot + 1..end].trim_end_matches('0').to_owned();
                    let sep = if frac.is_empty() { "" } else { "." };
                    dt = format!("{}{sep}{frac}{}", &dt[..dot], &dt[end..]);
                }
                m.insert("v".into(), J::String(dt));
            }
            J::Object(m)
        }
        J::Object(m) => J::Object(m.into_iter().map(|(k, v)| (k, normalized(v))).collect()),
        J::Array(a) => J::Array(a.into_iter().map(normalized).collect()),
        other => other,
    }
}

#[test]
fn psrpcore_reads_the_recorded_messages_as_we_do() {
    // A third party's reading of the real Windows messages, value by value,
    // against ours (canonical JSON, see tests/psrpcore_clixml/canon.py).
    let Some(py) = bridge::python() else { return };
    let (docs, _) = collect_docs();
    let mut ours = Vec::new();
    let mut doc = String::from("<Objs>");
    for d in docs.iter().filter(|d| d.origin.ends_with("message)")) {
        let v = clixml::from_slice(&d.xml).expect("parses (checked above)");
        let text = std::str::from_utf8(&d.xml)
            .unwrap()
            .trim_start_matches('\u{FEFF}');
        let text = match text.find("?>") {
            Some(i) if text.starts_with("<?xml") => &text[i + 2..],
            _ => text,
        };
        doc.push_str(text);
        ours.push((d.origin.as_str(), v));
    }
    doc.push_str("</Objs>");
    let theirs = bridge::run_args(&py, &["deserialize.py", "--each"], &doc);
    let theirs = theirs.as_array().expect("a list");
    assert_eq!(theirs.len(), ours.len());
    let (mut same, mut normalized_same, mut skipped, mut differ) = (0, 0, 0, Vec::new());
    for ((origin, v), t) in ours.iter().zip(theirs) {
        if t.get("error").is_some() {
            skipped += 1;
        } else if &bridge::canon(v) == t {
            same += 1;
        } else if normalized(bridge::canon(v)) == normalized(t.clone()) {
            normalized_same += 1;
        } else {
            differ.push(format!(
                "{origin}\n ours:   {}\n theirs: {}",
                normalized(bridge::canon(v)),
                normalized(t.clone())
            ));
        }
    }
    println!(
        "{} recorded messages: {same} read identically by psrpcore, {normalized_same} the same \
         up to DateTime text and wrapped objects, {skipped} it cannot canonicalize, {} differ",
        ours.len(),
        differ.len()
    );
    assert!(same > 600, "only {same} identical readings");
    for d in differ.iter().take(5) {
        println!("{d}");
    }
    assert!(
        differ.is_empty(),
        "{} messages read differently",
        differ.len()
    );
}
