//! The PowerShell stop signal is the relative URI Windows takes: the one a
//! recorded Windows host answered with a SignalResponse, or MS-PSRP's
//! spelling of it.
use std::path::Path;

use wsman::soap::ns::signal;

#[test]
fn powershell_stop_signal_is_what_windows_accepted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../fixtures/recordings/pypsrp/tests/tests_pypsrp/responses/test_psrp_nested_command.yml",
    );
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let messages = doc["messages"].as_sequence().unwrap();
    let (request, response) = messages
        .iter()
        .map(|m| {
            (
                m["request"].as_str().unwrap(),
                m["response"].as_str().unwrap(),
            )
        })
        .find(|(rq, _)| rq.contains("<rsp:Signal "))
        .expect("the recording stops a pipeline");
    let code = request
        .split("<rsp:Code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(response.contains("SignalResponse"), "Windows accepted it");
    assert_eq!(code, signal::PS_CTRL_C_ALT);
    // MS-PSRP 3.1.5.3.9's spelling differs only in the misspelt last part.
    assert_eq!(
        signal::PS_CTRL_C.replace("crtl_c", "ctrl_c"),
        signal::PS_CTRL_C_ALT
    );
    assert!(!signal::PS_CTRL_C.contains("://"), "a relative URI");
}
