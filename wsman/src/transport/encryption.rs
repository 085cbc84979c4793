//! WinRM message encryption framing ([MS-WSMV] 2.2.9.1.1): the sealed SOAP
//! body travels as `multipart/encrypted` (or, cut into 16 KiB pieces,
//! `multipart/x-multi-encrypted`), each part holding a little-endian `u32`
//! signature length, the signature (or wrap-token header) and the sealed
//! bytes. This module only frames; sealing itself is the security
//! context's [`SecurityContext::wrap_winrm`].
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use crate::auth::SecurityContext;
use crate::{Error, Result};

/// The MIME boundary Windows and every client use.
pub const BOUNDARY: &str = "Encrypted Boundary";
/// `protocol=` value for CredSSP, the one that is chunked.
pub const CREDSSP_PROTOCOL: &str = "application/HTTP-CredSSP-session-encrypted";
/// Size of a plaintext chunk in `multipart/x-multi-encrypted`.
pub const CHUNK: usize = 16 * 1024;

/// Seals `plaintext` with `ctx` and frames it; returns the `Content-Type`
/// header value and the body.
pub fn seal(
    ctx: &mut dyn SecurityContext,
    protocol: &str,
    plaintext: &[u8],
) -> Result<(String, Vec<u8>)> {
    let mut body = Vec::new();
    let content_type = seal_into(ctx, protocol, plaintext, &mut body)?;
    Ok((content_type, body))
}

/// [`seal`] appending the body to `body` (a buffer kept from one request
/// to the next, so that large bodies do not take fresh memory each time);
/// returns the `Content-Type` header value.
pub fn seal_into(
    ctx: &mut dyn SecurityContext,
    protocol: &str,
    plaintext: &[u8],
    body: &mut Vec<u8>,
) -> Result<String> {
    let multi = protocol == CREDSSP_PROTOCOL && plaintext.len() > CHUNK;
    let (kind, chunk) = if multi {
        ("multipart/x-multi-encrypted", CHUNK)
    } else {
        ("multipart/encrypted", plaintext.len().max(1))
    };
    let mut pieces: Vec<&[u8]> = plaintext.chunks(chunk).collect();
    if pieces.is_empty() {
        pieces.push(&[]);
    }
    body.reserve(plaintext.len() + 256 * pieces.len());
    for piece in pieces {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\n\tContent-Type: {protocol}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n--{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n",
                piece.len()
            )
            .as_bytes(),
        );
        // length prefix, signature and sealed bytes, straight into the body
        ctx.wrap_winrm_into(piece, body)?;
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Ok(format!(
        "{kind};protocol=\"{protocol}\";boundary=\"{BOUNDARY}\""
    ))
}

/// Whether a response `Content-Type` is a sealed WinRM body.
pub fn is_sealed(content_type: &str) -> bool {
    let ct = content_type.trim_start().to_ascii_lowercase();
    ct.starts_with("multipart/encrypted") || ct.starts_with("multipart/x-multi-encrypted")
}

/// A parameter of a `Content-Type` value (`boundary`, `protocol`), unquoted.
pub fn content_type_param(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn malformed(why: impl Into<String>) -> Error {
    Error::Protocol {
        message: format!("malformed encrypted WinRM body: {}", why.into()),
    }
}

/// Finds the next delimiter `--<ws>boundary` at or after `from`; returns its
/// start and the index just after it. Some servers (Exchange) put a space
/// between the dashes and the boundary.
fn find_delimiter(body: &[u8], boundary: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 2 <= body.len() {
        let pos = i + memchr::memmem::find(&body[i..], b"--")?;
        let mut j = pos + 2;
        while j < body.len() && body[j] == b' ' {
            j += 1;
        }
        if body[j..].starts_with(boundary) {
            return Some((pos, j + boundary.len()));
        }
        i = pos + 1;
    }
    None
}

/// Reads a MIME part header block (tab-indented `Name: value` lines) that
/// starts at `at` (just after a delimiter and its CRLF) and ends where the
/// next line does not look like a header. Returns the `Length=` of
/// `OriginalContent` if present and the index after the block.
fn read_headers(body: &[u8], mut at: usize) -> (Option<usize>, usize) {
    let mut length = None;
    loop {
        let Some(eol) = body[at..].windows(2).position(|w| w == b"\r\n") else {
            return (length, at);
        };
        let line = &body[at..at + eol];
        let text = match std::str::from_utf8(line) {
            Ok(t) => t.trim(),
            Err(_) => return (length, at),
        };
        let Some((name, value)) = text.split_once(':') else {
            return (length, at);
        };
        if name.contains(' ') || name.is_empty() {
            return (length, at);
        }
        if name.eq_ignore_ascii_case("OriginalContent") {
            length = value
                .split(';')
                .find_map(|p| p.trim().strip_prefix("Length="))
                .and_then(|n| n.trim().parse().ok());
        }
        at += eol + 2;
        if name.eq_ignore_ascii_case("Content-Type")
            && value
                .trim()
                .eq_ignore_ascii_case("application/octet-stream")
        {
            return (length, at);
        }
    }
}

/// Opens a sealed response: `content_type` is the header value (for the
/// boundary), `body` the HTTP body. Each part's unsealed length must match
/// its `OriginalContent` length.
pub fn unseal(ctx: &mut dyn SecurityContext, content_type: &str, body: &[u8]) -> Result<Vec<u8>> {
    unseal_owned(ctx, content_type, body.to_vec())
}

/// [`unseal`] in the body's own memory: each part is decrypted where it
/// lies and moved to the front, so a large answer costs no second buffer.
pub fn unseal_owned(
    ctx: &mut dyn SecurityContext,
    content_type: &str,
    mut body: Vec<u8>,
) -> Result<Vec<u8>> {
    let boundary = content_type_param(content_type, "boundary").unwrap_or(BOUNDARY.to_string());
    let boundary = boundary.as_bytes();
    // plaintext written so far, at the front of `body`
    let mut out_len = 0usize;
    let (_, mut at) = find_delimiter(&body, boundary, 0)
        .ok_or_else(|| malformed("no MIME boundary in the body"))?;
    let mut parts = 0usize;
    loop {
        // Each chunk: delimiter, metadata headers, delimiter, octet-stream header, data.
        if body[at..].starts_with(b"--") {
            if parts == 0 {
                return Err(malformed("no encrypted part before the closing boundary"));
            }
            break; // closing delimiter
        }
        parts += 1;
        let at_hdr = skip_crlf(&body, at);
        let (length, after_meta) = read_headers(&body, at_hdr);
        let expected = length.ok_or_else(|| malformed("a part has no OriginalContent Length"))?;
        let (_, after_delim) = find_delimiter(&body, boundary, after_meta)
            .ok_or_else(|| malformed("missing the octet-stream part"))?;
        let (_, data_start) = read_headers(&body, skip_crlf(&body, after_delim));
        // The data runs to the next delimiter that starts a chunk header or
        // closes the body. Sealed bytes may contain "--": look for the
        // delimiter followed by CRLF + header, or "--" + CRLF/end.
        let data_end = next_part_start(&body, boundary, data_start)
            .ok_or_else(|| malformed("missing the closing boundary"))?;
        let frame = &body[data_start..data_end.0];
        if frame.len() < 4 {
            return Err(malformed("sealed part shorter than its length prefix"));
        }
        let sig_len = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes")) as usize;
        if sig_len > frame.len() - 4 {
            return Err(malformed(format!(
                "signature length {sig_len} exceeds the part ({} bytes)",
                frame.len() - 4
            )));
        }
        let sig = frame[4..4 + sig_len].to_vec();
        let sealed = data_start + 4 + sig_len..data_end.0;
        let plain_len = ctx.unwrap_winrm_in_place(&sig, &mut body[sealed.clone()])?;
        if plain_len != expected {
            return Err(Error::Protocol {
                message: format!(
                    "the host's sealed message unsealed to {plain_len} bytes, the header says {expected}: decryption failed"
                ),
            });
        }
        // Plaintext moves left only: `out_len` never passes the part's start,
        // and what is still to read lies past the part's end.
        body.copy_within(sealed.start..sealed.start + plain_len, out_len);
        out_len += plain_len;
        at = data_end.1;
    }
    body.truncate(out_len);
    Ok(body)
}

fn skip_crlf(body: &[u8], at: usize) -> usize {
    if body[at..].starts_with(b"\r\n") {
        at + 2
    } else {
        at
    }
}

/// The next delimiter after sealed data: `--boundary\r\n\t...Content-Type`
/// (another chunk) or `--boundary--` at the end of the body. Returns the
/// delimiter's start and the index right after the boundary name.
fn next_part_start(body: &[u8], boundary: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut search = from;
    let mut closing = None;
    while let Some((start, end)) = find_delimiter(body, boundary, search) {
        let rest = &body[end..];
        if rest.starts_with(b"--") {
            let tail = &rest[2..];
            if tail.iter().all(|b| b.is_ascii_whitespace()) {
                return Some((start, end));
            }
            closing = Some((start, end));
        } else if rest.starts_with(b"\r\n") {
            let after = &rest[2..];
            let after = after.strip_prefix(b"\t").unwrap_or(after);
            if after.len() >= 13 && after[..13].eq_ignore_ascii_case(b"Content-Type:") {
                return Some((start, end));
            }
        }
        search = start + 1;
    }
    closing
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seals by XOR with a counter-keyed byte; the signature names the
    /// sequence number, so reordering is detected.
    struct Xor {
        seq_out: u32,
        seq_in: u32,
    }

    impl SecurityContext for Xor {
        fn http_scheme(&self) -> &'static str {
            "Negotiate"
        }
        fn step(&mut self, _: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
            Ok(None)
        }
        fn is_complete(&self) -> bool {
            true
        }
        fn encryption_protocol(&self) -> Option<&'static str> {
            Some("application/HTTP-SPNEGO-session-encrypted")
        }
        fn wrap_winrm(&mut self, p: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
            let mut sig = b"SIG-".to_vec();
            sig.extend_from_slice(&self.seq_out.to_le_bytes());
            self.seq_out += 1;
            Ok((sig, p.iter().map(|b| b ^ 0x2d).collect()))
        }
        fn unwrap_winrm(&mut self, h: &[u8], d: &[u8]) -> Result<Vec<u8>> {
            let mut sig = b"SIG-".to_vec();
            sig.extend_from_slice(&self.seq_in.to_le_bytes());
            if h != sig {
                return Err(Error::Protocol {
                    message: "bad signature".into(),
                });
            }
            self.seq_in += 1;
            Ok(d.iter().map(|b| b ^ 0x2d).collect())
        }
    }

    fn xor() -> Xor {
        Xor {
            seq_out: 0,
            seq_in: 0,
        }
    }

    #[test]
    fn exact_layout() {
        let (ct, body) = seal(
            &mut xor(),
            "application/HTTP-SPNEGO-session-encrypted",
            b"<a/>",
        )
        .unwrap();
        assert_eq!(
            ct,
            "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\""
        );
        let mut expected = b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=4\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n".to_vec();
        expected.extend_from_slice(&8u32.to_le_bytes());
        expected.extend_from_slice(b"SIG-\0\0\0\0");
        expected.extend(b"<a/>".iter().map(|b| b ^ 0x2d));
        expected.extend_from_slice(b"--Encrypted Boundary--\r\n");
        assert_eq!(body, expected);
    }

    #[test]
    fn round_trip_including_dashes_in_ciphertext() {
        // 0x00 ^ 0x2d = '-': the ciphertext is full of dashes and even a boundary.
        let mut msg = vec![0u8; 100];
        msg.extend(b"--Encrypted Boundary--\r\n".iter().map(|b| b ^ 0x2d));
        msg.extend(b"--Encrypted Boundary\r\n".iter().map(|b| b ^ 0x2d));
        msg.extend_from_slice(b"tail");
        let mut tx = xor();
        let mut rx = xor();
        let (ct, body) = seal(&mut tx, "application/HTTP-SPNEGO-session-encrypted", &msg).unwrap();
        assert_eq!(unseal(&mut rx, &ct, &body).unwrap(), msg);
    }

    #[test]
    fn multi_encrypted_chunks() {
        let msg: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut tx = xor();
        let (ct, body) = seal(&mut tx, CREDSSP_PROTOCOL, &msg).unwrap();
        assert!(ct.starts_with("multipart/x-multi-encrypted;"));
        assert_eq!(tx.seq_out, 3, "40000 bytes are three 16 KiB chunks");
        assert!(is_sealed(&ct));
        assert_eq!(unseal(&mut xor(), &ct, &body).unwrap(), msg);
    }

    #[test]
    fn spaced_boundary_and_empty_message() {
        let mut tx = xor();
        let (ct, body) = seal(&mut tx, "application/HTTP-SPNEGO-session-encrypted", b"").unwrap();
        assert_eq!(unseal(&mut xor(), &ct, &body).unwrap(), b"");
        let (_, body) = seal(&mut xor(), "p", b"hello").unwrap();
        let spaced = String::from_utf8_lossy(&body).replace("--Encrypted", "-- Encrypted");
        assert_eq!(
            unseal(
                &mut xor(),
                "multipart/encrypted;boundary=\"Encrypted Boundary\"",
                spaced.as_bytes()
            )
            .unwrap(),
            b"hello"
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let (ct, body) = seal(&mut xor(), "p", b"hello world").unwrap();
        // every truncation fails cleanly, none panics
        for n in 0..body.len() - 2 {
            assert!(
                unseal(&mut xor(), &ct, &body[..n]).is_err(),
                "truncated at {n}"
            );
        }
        // wrong length header
        let s = String::from_utf8_lossy(&body).replace("Length=11", "Length=12");
        let e = unseal(&mut xor(), &ct, s.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("decryption failed"), "{e}");
        // huge signature length
        let mut b = body.clone();
        let at = b.windows(4).position(|w| w == 8u32.to_le_bytes()).unwrap();
        b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unseal(&mut xor(), &ct, &b).is_err());
        assert!(unseal(&mut xor(), &ct, b"garbage").is_err());
    }

    #[test]
    fn params() {
        let ct = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
        assert_eq!(
            content_type_param(ct, "boundary").as_deref(),
            Some("Encrypted Boundary")
        );
        assert_eq!(
            content_type_param(ct, "protocol").as_deref(),
            Some("application/HTTP-SPNEGO-session-encrypted")
        );
        assert!(!is_sealed("application/soap+xml;charset=UTF-8"));
    }

    /// Deterministic mutation fuzzing (bounded): flipped, inserted and
    /// deleted bytes in a sealed body never panic, and a body that is
    /// accepted unseals to the announced length (the fake seal has no
    /// integrity check; real contexts reject altered bytes).
    #[test]
    fn mutated_bodies_never_panic() {
        let msg = b"<s:Envelope>fuzz me, all 40 bytes of it</s:Envelope>".to_vec();
        let (ct, body) = seal(&mut xor(), "p", &msg).unwrap();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut b = body.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % b.len();
                match next() % 3 {
                    0 => b[at] = next() as u8,
                    1 => b.insert(at, next() as u8),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            if let Ok(out) = unseal(&mut xor(), &ct, &b) {
                assert_eq!(out.len(), msg.len(), "{:?}", String::from_utf8_lossy(&b));
            }
        }
    }
}
