//! Fuzz target for what a CredSSP host sends ([MS-CSSP] 2.2.1): the
//! TSRequest decoder (a decoded request must encode and decode to itself),
//! the certificate's subjectPublicKey reader, the SPNEGO NegTokenResp
//! decoder (same round trip) and the SPNEGO/NTLM context fed the input as
//! the host's answer, and the client context fed the input as the host's
//! first answer: a value or an error, never a panic, a hang or unbounded
//! memory.
//!
//! Run as `soap_response` (see there), or through scripts/fuzz-smoke.sh.
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsman::auth::credssp::spnego::{NegTokenResp, SpnegoNtlm};
use wsman::auth::credssp::{subject_public_key, CredSspContext, TsRequest};
use wsman::auth::{Credentials, Secret, SecurityContext};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = TsRequest::decode(data) {
        assert_eq!(TsRequest::decode(&req.encode()).ok(), Some(req));
    }
    let _ = subject_public_key(data);
    if let Ok(resp) = NegTokenResp::decode(data) {
        assert_eq!(NegTokenResp::decode(&resp.encode()).ok(), Some(resp));
    }
    let creds = Credentials::parse("u", Secret::password("p"));
    if let Ok(mut spnego) = SpnegoNtlm::new(&creds, "HTTP/h") {
        let _ = spnego.step(None);
        let _ = spnego.step(Some(data));
        let _ = spnego.unwrap(data);
    }
    if let Ok(mut ctx) = CredSspContext::new_ntlm(&creds, "h", "HTTP/h") {
        let _ = ctx.step(None);
        let _ = ctx.step(Some(data));
        let _ = ctx.unwrap_winrm(&[], data);
    }
});
