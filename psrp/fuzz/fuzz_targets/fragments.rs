//! Fuzz target for the fragment reassembler and the message layers above it
//! ([MS-PSRP] 2.2.4, 2.2.1, 2.2.2): any bytes, fed in any split, either
//! fail with an error or yield messages; nothing panics and the bytes held
//! for incomplete messages never pass the configured bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psrp::fragment::Reassembler;
use psrp::message::Message;
use psrp::messages::Body;
use psrp::{RunspacePool, RunspacePoolConfig};

const LIMIT: usize = 64 * 1024;
static KEY: std::sync::OnceLock<rsa::RsaPrivateKey> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // The first byte chooses how the rest is split into receive calls.
    let Some((&split, rest)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);

    let mut r = Reassembler::new(LIMIT);
    for piece in rest.chunks(chunk) {
        match r.feed(piece) {
            Ok(messages) => {
                for (_, raw) in messages {
                    assert!(raw.len() <= LIMIT);
                    if let Ok(m) = Message::decode(&raw) {
                        if let Ok(body) = Body::decode(m.message_type, &m.data) {
                            // What decodes also encodes.
                            let _ = body.encode();
                        }
                    }
                }
            }
            Err(_) => break,
        }
        assert!(r.buffered() <= LIMIT + 21);
    }

    // The whole client state machine on the same bytes.
    let config = RunspacePoolConfig {
        max_buffered: LIMIT,
        ..Default::default()
    };
    let mut pool = RunspacePool::new(config);
    // Answering a PUBLIC_KEY_REQUEST needs a key: a fixed one, not a slow
    // RSA generation per input.
    let private = KEY.get_or_init(|| {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        rsa::RsaPrivateKey::from_pkcs1_pem(include_str!("../../tests/data/exchange_key.pem"))
            .expect("test key")
    });
    pool.set_exchange_key(
        psrp::crypto::ExchangeKey::from_private_key(private.clone()).expect("2048 bits"),
    );
    let _ = pool.open();
    for piece in rest.chunks(chunk) {
        if pool.receive_data(piece).is_err() {
            break;
        }
        while pool.next_event().is_some() {}
    }
});
