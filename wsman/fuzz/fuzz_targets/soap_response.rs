//! Fuzz target for the SOAP response parsers (and the request inspector):
//! any input must give a value or an error, never a panic, a hang or
//! unbounded memory.
//!
//! Run (nightly): `cd wsman/fuzz && cargo +nightly fuzz run soap_response -- -max_total_time=60`.
//! Without cargo-fuzz: build with
//! `RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
//! -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table
//! -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
//! cargo +nightly build --release --target x86_64-unknown-linux-gnu` and run
//! `target/x86_64-unknown-linux-gnu/release/soap_response corpus/soap_response -max_total_time=60`.
//! Seed the corpus with the recorded responses:
//! `mkdir -p corpus/soap_response && cp ../../fixtures/recordings/pywinrm_pr162/tests/test_xmls/*/*-response.xml corpus/soap_response/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsman::soap::{inspect, json, response as rs};

fuzz_target!(|data: &[u8]| {
    let _ = rs::parse_envelope(data);
    let _ = rs::parse_ack(data);
    let _ = rs::parse_header(data);
    let _ = rs::parse_fault(data);
    let _ = rs::parse_identify(data);
    if let Ok(g) = rs::parse_get(data) {
        let _ = g.to_json();
    }
    if let Ok(e) = rs::parse_enumerate(data) {
        let _ = e.shells();
        for item in &e.items {
            let _ = json::xml_to_json(item);
        }
    }
    let _ = rs::parse_pull(data);
    let _ = rs::parse_create(data);
    let _ = rs::parse_command(data);
    let _ = rs::parse_receive(data);
    let _ = rs::parse_connect(data);
    let _ = inspect::parse_request(data);
});
