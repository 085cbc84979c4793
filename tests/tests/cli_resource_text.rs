//! `wsman get` prints a resource's fields in the document's order (as
//! Get-WSManInstance lists them), not sorted: checked against the same
//! resource's XML, through the binary against the test host.
use std::process::Command;

use integration_tests::helpers::TempDir;
use integration_tests::{wsman_bin, TestHost};

fn get(host: &TestHost, state: &TempDir, extra: &[&str]) -> String {
    let o = Command::new(wsman_bin())
        .args(["-H", host.url(), "-a", "basic", "--no-encryption", "-u"])
        .arg(host.get("user").unwrap())
        .args(["get", "winrm/config"])
        .args(extra)
        .env("WSMAN_PASSWORD", host.get("password").unwrap())
        .env("WSMAN_STATE_DIR", state.path())
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER")
        .env_remove("WSMAN_PROFILE")
        .output()
        .expect("run wsman");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn get_lists_fields_in_the_documents_order() {
    let Some(host) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let state = TempDir::new("resource-text");
    // The top-level fields as the text shows them (unindented lines).
    let text = get(&host, &state, &[]);
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .map(|l| l.split(" : ").next().unwrap().trim())
        .collect();
    // The same fields in the XML, in order of their first start tag.
    let xml = get(&host, &state, &["--xml"]);
    let mut at: Vec<(usize, &str)> = shown
        .iter()
        .map(|name| {
            let pos = xml
                .find(&format!(":{name}>"))
                .or_else(|| xml.find(&format!(":{name} ")))
                .unwrap_or_else(|| panic!("{name} not in the XML: {xml}"));
            (pos, *name)
        })
        .collect();
    assert!(shown.len() >= 4, "{text}");
    at.sort();
    let in_xml: Vec<&str> = at.into_iter().map(|(_, n)| n).collect();
    assert_eq!(shown, in_xml, "{text}");
    let mut sorted = shown.clone();
    sorted.sort_unstable();
    assert_ne!(
        shown, sorted,
        "this resource's fields are not alphabetical: {text}"
    );
}
