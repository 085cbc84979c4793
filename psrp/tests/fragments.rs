//! Fragmenting then reassembling is the identity ([MS-PSRP] 2.2.4), for
//! random message sizes, packet sizes, targets, interleavings and receive
//! splits; and the reassembler survives thousands of random inputs (the
//! logic of the `fragments` fuzz target) without a panic or unbounded
//! memory.

use proptest::prelude::*;
use psrp::crypto::ExchangeKey;
use psrp::fragment::{Fragment, Packer, Reassembler, Stream, HEADER_LEN};
use psrp::message::Message;
use psrp::messages::Body;
use psrp::{RunspacePool, RunspacePoolConfig};
use uuid::Uuid;

fn message_strategy() -> impl Strategy<Value = (Vec<u8>, u8, bool)> {
    (
        prop::collection::vec(any::<u8>(), 1..3000),
        0u8..3,
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Through the Packer: every packet fits, targets never mix in a packet,
    /// and the reassembled messages are the sent ones.
    #[test]
    fn packer_then_reassembler_is_identity(
        messages in prop::collection::vec(message_strategy(), 1..12),
        max in 22usize..2000,
        split in 1usize..500,
    ) {
        let targets = [None, Some(Uuid::from_u128(1)), Some(Uuid::from_u128(2))];
        let mut packer = Packer::new();
        let mut sent = Vec::new();
        for (data, target, pr) in &messages {
            let stream = if *pr { Stream::PromptResponse } else { Stream::Default };
            let oid = packer.push(data.clone(), stream, targets[*target as usize]);
            sent.push((oid, data.clone()));
        }
        let mut wire = Vec::new();
        while let Some(p) = packer.next_packet(max).unwrap() {
            prop_assert!(p.data.len() <= max);
            // Every fragment in the packet belongs to the packet's target.
            let mut rest = &p.data[..];
            while !rest.is_empty() {
                let (f, used) = Fragment::decode(rest).unwrap().unwrap();
                let (_, target, pr) = &messages[(f.object_id - 1) as usize];
                prop_assert_eq!(targets[*target as usize], p.pipeline_id);
                prop_assert_eq!(*pr, p.stream == Stream::PromptResponse);
                rest = &rest[used..];
            }
            wire.extend(p.data);
        }
        prop_assert!(packer.is_empty());
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        for piece in wire.chunks(split) {
            got.extend(r.feed(piece).unwrap());
        }
        got.sort();
        prop_assert_eq!(got, sent);
        prop_assert_eq!(r.buffered(), 0);
    }

    /// Hand-cut fragments of several objects, interleaved at random (each
    /// object's fragments in order), reassemble into the same messages.
    #[test]
    fn random_interleavings_reassemble(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..800), 1..8),
        cuts in prop::collection::vec(1usize..300, 8),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..400),
        split in 1usize..200,
    ) {
        // Cut each message into fragments.
        let mut queues: Vec<Vec<Vec<u8>>> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let size = cuts[i % cuts.len()];
            let pieces: Vec<&[u8]> = if m.is_empty() { vec![&m[..]] } else { m.chunks(size).collect() };
            let n = pieces.len();
            let frags = pieces
                .into_iter()
                .enumerate()
                .map(|(j, d)| {
                    let mut out = Vec::new();
                    Fragment {
                        object_id: i as u64 + 10,
                        fragment_id: j as u64,
                        start: j == 0,
                        end: j + 1 == n,
                        data: d,
                    }
                    .encode_into(&mut out);
                    out
                })
                .rev()
                .collect();
            queues.push(frags);
        }
        // Interleave: pick a random non-empty queue each time.
        let mut wire = Vec::new();
        let mut order = order.into_iter();
        loop {
            let live: Vec<usize> = (0..queues.len()).filter(|&q| !queues[q].is_empty()).collect();
            if live.is_empty() {
                break;
            }
            let pick = match order.next() {
                Some(ix) => live[ix.index(live.len())],
                None => live[0],
            };
            wire.extend(queues[pick].pop().unwrap());
        }
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        for piece in wire.chunks(split) {
            got.extend(r.feed(piece).unwrap());
        }
        got.sort();
        let expected: Vec<(u64, Vec<u8>)> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (i as u64 + 10, m.clone()))
            .collect();
        prop_assert_eq!(got, expected);
    }
}

/// A small deterministic generator (xorshift64*), so the run is the same
/// every time and needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random bytes that are often close to valid: real headers with wrong
/// ids, flags or hostile lengths, and valid fragments of messages.
fn hostile_input(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(6) + 1 {
        match rng.below(4) {
            0 => {
                let n = rng.below(64) as usize;
                out.extend((0..n).map(|_| rng.next() as u8));
            }
            1 => {
                // A header announcing a random, often huge, length.
                out.extend_from_slice(&(rng.below(4)).to_be_bytes());
                out.extend_from_slice(&(rng.below(4)).to_be_bytes());
                out.push(rng.below(5) as u8);
                let len = if rng.below(2) == 0 {
                    rng.next() as u32
                } else {
                    rng.below(100) as u32
                };
                out.extend_from_slice(&len.to_be_bytes());
                let n = rng.below(100) as usize;
                out.extend((0..n).map(|_| rng.next() as u8));
            }
            _ => {
                // A whole fragment of a real-looking message.
                let body = match rng.below(3) {
                    0 => Body::PipelineOutput(psrp::clixml::Value::I32(rng.next() as i32)),
                    1 => Body::PublicKeyRequest,
                    _ => Body::PipelineOutput(psrp::clixml::Value::String("x".into())),
                };
                let msg = Message {
                    destination: psrp::message::Destination::Client,
                    message_type: body.message_type(),
                    rpid: Uuid::nil(),
                    pid: None,
                    data: body.encode(),
                }
                .encode();
                let mut data = msg;
                if rng.below(3) == 0 {
                    let i = rng.below(data.len() as u64) as usize;
                    data[i] ^= rng.next() as u8 | 1;
                }
                Fragment {
                    object_id: rng.below(3),
                    fragment_id: rng.below(2),
                    start: rng.below(4) != 0,
                    end: rng.below(4) != 0,
                    data: &data,
                }
                .encode_into(&mut out);
            }
        }
    }
    out
}

#[test]
fn thousands_of_random_inputs_never_panic_and_stay_bounded() {
    const LIMIT: usize = 4096;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let private =
        rsa::RsaPrivateKey::from_pkcs1_pem(include_str!("data/exchange_key.pem")).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut errors = 0;
    let mut messages = 0;
    for _ in 0..5000 {
        let input = hostile_input(&mut rng);
        let split = rng.below(40) as usize + 1;
        let mut r = Reassembler::new(LIMIT);
        for piece in input.chunks(split) {
            match r.feed(piece) {
                Ok(done) => {
                    for (_, raw) in done {
                        assert!(raw.len() <= LIMIT);
                        messages += 1;
                        if let Ok(m) = Message::decode(&raw) {
                            if let Ok(body) = Body::decode(m.message_type, &m.data) {
                                let _ = body.encode();
                            }
                        }
                    }
                }
                Err(_) => {
                    errors += 1;
                    assert_eq!(r.buffered(), 0, "an error drops what was held");
                    break;
                }
            }
            assert!(r.buffered() <= LIMIT + HEADER_LEN);
        }
        let config = RunspacePoolConfig {
            max_buffered: LIMIT,
            ..Default::default()
        };
        let mut pool = RunspacePool::with_id(Uuid::nil(), config);
        // A PUBLIC_KEY_REQUEST makes the pool answer with a key; a fixed
        // one, since generating RSA keys is slow in debug builds.
        pool.set_exchange_key(ExchangeKey::from_private_key(private.clone()).unwrap());
        pool.open().unwrap();
        for piece in input.chunks(split) {
            if pool.receive_data(piece).is_err() {
                break;
            }
            while pool.next_event().is_some() {}
        }
    }
    // The generator exercises both outcomes.
    assert!(errors > 1000, "{errors} errors");
    assert!(messages > 500, "{messages} messages");
}
