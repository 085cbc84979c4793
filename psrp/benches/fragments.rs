//! Fragment reassembly speed ([MS-PSRP] 2.2.4), the receive path a long
//! output goes through before CLIXML:
//!
//! - `outputs_100k`: 100,000 PIPELINE_OUTPUT messages of one integer each
//!   (`<I32>n</I32>`, what `1..100000` sends), cut by [`Packer`] into
//!   packets of the size a 512,000-byte MaxEnvelopeSize carries, each
//!   packet fed to a [`Reassembler`] and every message decoded with
//!   [`Message::decode`]; `outputs_100k_to_values` also reads each
//!   message's CLIXML into a value, which is what a Receive costs per
//!   output object in all;
//! - `outputs_100k_4k_reads`: the same bytes fed 4 KiB at a time, so
//!   fragments straddle the reads (the pending-fragment path);
//! - `message_10mib`: one 10 MiB message in packet-sized fragments.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use psrp::clixml;
use psrp::fragment::{Packer, Reassembler};
use psrp::message::{Destination, Message, MessageType};
use psrp::Stream;
use uuid::Uuid;

/// The PSRP packet size for a 512,000-byte envelope once base64-encoded
/// with room for the SOAP around it (as the client computes it).
const PACKET: usize = (512_000 - 4096) / 4 * 3;

/// Packets of `messages`, as a host sends them.
fn packets(messages: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut packer = Packer::new();
    for m in messages {
        packer.push(m, Stream::Default, None);
    }
    let mut out = Vec::new();
    while let Some(p) = packer.next_packet(PACKET).unwrap() {
        out.push(p.data);
    }
    out
}

fn output_messages(n: i32) -> Vec<Vec<u8>> {
    let (rpid, pid) = (Uuid::from_u128(1), Uuid::from_u128(2));
    (1..=n)
        .map(|i| {
            Message {
                destination: Destination::Client,
                message_type: MessageType::PIPELINE_OUTPUT,
                rpid,
                pid: Some(pid),
                data: format!("<I32>{i}</I32>").into_bytes(),
            }
            .encode()
        })
        .collect()
}

/// Feeds `chunks` to a new reassembler; calls `each` on every message.
fn reassemble(chunks: &[Vec<u8>], mut each: impl FnMut(Message)) -> usize {
    let mut r = Reassembler::default();
    let mut count = 0;
    for c in chunks {
        for (_, bytes) in r.feed(c).unwrap() {
            each(Message::decode(&bytes).unwrap());
            count += 1;
        }
    }
    count
}

fn bench(c: &mut Criterion) {
    const N: i32 = 100_000;
    let outputs = packets(output_messages(N));
    let wire: usize = outputs.iter().map(Vec::len).sum();
    let small_reads: Vec<Vec<u8>> = outputs.concat().chunks(4096).map(<[u8]>::to_vec).collect();

    let mut g = c.benchmark_group("reassemble");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function(format!("outputs_100k ({wire} bytes)"), |b| {
        b.iter(|| {
            let n = reassemble(black_box(&outputs), |m| {
                black_box(m);
            });
            assert_eq!(n, N as usize);
        })
    });
    g.bench_function("outputs_100k_4k_reads", |b| {
        b.iter(|| {
            let n = reassemble(black_box(&small_reads), |m| {
                black_box(m);
            });
            assert_eq!(n, N as usize);
        })
    });
    g.bench_function("outputs_100k_to_values", |b| {
        b.iter(|| {
            let mut last = None;
            reassemble(black_box(&outputs), |m| {
                last = clixml::from_slice(&m.data).unwrap().as_i64();
            });
            assert_eq!(last, Some(i64::from(N)));
        })
    });

    let big = vec![b'x'; 10 << 20];
    let big_packets = packets(vec![big]);
    g.throughput(Throughput::Bytes(10 << 20));
    g.bench_function("message_10mib", |b| {
        b.iter(|| {
            let mut r = Reassembler::default();
            let mut got = 0;
            for p in black_box(&big_packets) {
                for (_, m) in r.feed(p).unwrap() {
                    got += m.len();
                }
            }
            assert_eq!(got, 10 << 20);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
