//! Client CPU of the receive and send paths, NTLM-sealed, against the Rust
//! bench host (`integration_tests::bench_host`), which answers at memory
//! speed from canned bodies so that the client is what is measured:
//!
//! - `unseal_parse/one_receive`: one sealed ReceiveResponse as the test
//!   host fills a 512,000-byte envelope (one `rsp:Stream` per output
//!   object, `<I32>n</I32>`): MIME framing, NTLM unseal (RC4 + HMAC-MD5),
//!   SOAP parse and base64 decode; `unseal_parse/unseal_only`: the unseal
//!   alone, per byte;
//! - `end_to_end/receive_10k_objects`: 10,000 output objects over a real
//!   HTTP connection (NTLM handshake once, then sealed Receives), each
//!   stream's fragments reassembled and every message decoded to its value,
//!   as a PSRP pipeline's output is. Timed as the CPU time of the client's
//!   thread (`/proc/thread-self/schedstat`), so the host's work and the
//!   machine's load do not count;
//! - `seal_send/1mib` and `end_to_end/send_1mib`: a Send of 1 MiB of input
//!   (base64 in the SOAP body) sealed, and sent and acknowledged.
//!
//! Every benchmark reports the CPU time of the client's thread
//! (`/proc/thread-self/schedstat`), not wall time: on a shared machine the
//! wall clock mostly measures the other processes.
//!
//! Run: `cargo bench -p integration-tests --bench receive`.
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use integration_tests::bench_host::{self, BenchHost};
use psrp::fragment::Reassembler;
use psrp::message::Message;
use psrp::messages::Body;
use wsman::auth::ntlm::{flags, NtlmContext, Session};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::client::{Client, ClientOptions};
use wsman::soap::request::{self, SendStream};
use wsman::soap::response;
use wsman::transport::{encryption, Endpoint, ProxySetting, TransportConfig};

const COMMAND_ID: &str = "0A6B1B4C-7D1E-4F2A-9B3C-5D6E7F801234";
const SHELL_ID: &str = "1B2C3D4E-5F60-4172-8394-A5B6C7D8E9F0";
const RESOURCE: &str = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell";
const KEY: [u8; 16] = *b"bench session k!";
/// Raw PSRP bytes per Receive, as the test host packs a 512,000-byte envelope.
const PER_RECEIVE: usize = (512_000 - 3072) * 3 / 4;

/// PIPELINE_OUTPUT messages `<I32>n</I32>` for `range`, each in its own
/// fragment, grouped into ReceiveResponses of the test host's size.
fn receives(range: std::ops::RangeInclusive<i32>) -> Vec<Vec<u8>> {
    let (rpid, pid) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    let mut out = Vec::new();
    let mut frags: Vec<Vec<u8>> = Vec::new();
    let mut used = 0;
    let last = *range.end();
    for i in range {
        let mut data = b"\xEF\xBB\xBF".to_vec();
        data.extend_from_slice(format!("<I32>{i}</I32>").as_bytes());
        let msg = Message {
            destination: psrp::message::Destination::Client,
            message_type: psrp::message::MessageType::PIPELINE_OUTPUT,
            rpid,
            pid: Some(pid),
            data,
        }
        .encode();
        let f = bench_host::whole_fragment(i as u64, &msg);
        used += f.len() + 90;
        frags.push(f);
        if used >= PER_RECEIVE || i == last {
            out.push(bench_host::receive_response(COMMAND_ID, &frags, i == last));
            frags.clear();
            used = 0;
        }
    }
    out
}

fn negotiated() -> u32 {
    flags::CLIENT & !flags::NEGOTIATE_OEM
}

/// Decodes every message of a Receive's streams; returns how many.
/// A fresh client context per iteration (the RC4 state moves on with each
/// unseal), made outside the timed part.
fn fresh_contexts(iters: u64) -> Vec<NtlmContext> {
    (0..iters)
        .map(|_| NtlmContext::established(Session::client(&KEY, negotiated()), "HTTP/bench"))
        .collect()
}

fn decode(r: &response::Received, reassembler: &mut Reassembler) -> usize {
    let mut n = 0;
    for s in &r.streams {
        for (_, bytes) in reassembler.feed(&s.data).unwrap() {
            let m = Message::decode(&bytes).unwrap();
            let data = m.data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&m.data);
            black_box(Body::decode(m.message_type, data).unwrap());
            n += 1;
        }
    }
    n
}

fn client(url: &str) -> Client {
    let auth = AuthOptions::new(
        Mechanism::Ntlm,
        Credentials::parse(bench_host::USER, Secret::password(bench_host::PASSWORD)),
    );
    let mut cfg = TransportConfig::new(Endpoint::parse(url, false).unwrap(), auth);
    cfg.proxy = ProxySetting::None;
    Client::new(cfg, ClientOptions::default()).unwrap()
}

/// Runs `work` `iters` times on this thread; returns this thread's CPU
/// time (wall time where the kernel keeps no per-thread account).
fn thread_cpu(iters: u64, mut work: impl FnMut()) -> Duration {
    let (c0, w0) = (bench_host::thread_cpu_ns(), std::time::Instant::now());
    for _ in 0..iters {
        work();
    }
    match (c0, bench_host::thread_cpu_ns()) {
        (Some(a), Some(b)) => Duration::from_nanos(b - a),
        _ => w0.elapsed(),
    }
}

fn bench(c: &mut Criterion) {
    // One Receive, unsealed and parsed.
    let one = receives(1..=100_000).swap_remove(0);
    let objects = one.windows(11).filter(|w| w == b"<rsp:Stream").count();
    let (ct, sealed) = bench_host::seal_as_host(Session::server(&KEY, negotiated()), &one);
    let mut g = c.benchmark_group("unseal_parse");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(objects as u64));
    g.bench_function(
        format!("one_receive ({objects} objects, {} bytes)", sealed.len()),
        |b| {
            b.iter_custom(|iters| {
                let mut contexts = fresh_contexts(iters);
                let mut next = contexts.iter_mut();
                thread_cpu(iters, || {
                    let ctx = next.next().unwrap();
                    let plain = encryption::unseal(ctx, &ct, black_box(&sealed)).unwrap();
                    let r = response::parse_receive(&plain).unwrap();
                    assert_eq!(r.streams.len(), objects);
                    black_box(r);
                })
            })
        },
    );
    // The NTLM unseal alone (RC4 and HMAC-MD5 in one pass, MIME framing):
    // its time per byte is the floor under every Receive.
    g.throughput(Throughput::Bytes(sealed.len() as u64));
    g.bench_function(format!("unseal_only ({} bytes)", sealed.len()), |b| {
        b.iter_custom(|iters| {
            let mut contexts = fresh_contexts(iters);
            let mut next = contexts.iter_mut();
            thread_cpu(iters, || {
                let ctx = next.next().unwrap();
                black_box(encryption::unseal(ctx, &ct, black_box(&sealed)).unwrap());
            })
        })
    });
    g.finish();

    // 1 MiB of input in one Send, sealed.
    let input: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let header = client("http://127.0.0.1:1/wsman").header(RESOURCE);
    let mut g = c.benchmark_group("seal_send");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("1mib", |b| {
        let mut ctx = NtlmContext::established(Session::client(&KEY, negotiated()), "HTTP/bench");
        b.iter_custom(|iters| {
            thread_cpu(iters, || {
                let mut soap = String::new();
                let s = SendStream {
                    name: "stdin",
                    command_id: Some(COMMAND_ID),
                    end: false,
                    data: black_box(&input),
                };
                request::send(&header, &[s], &mut soap);
                let protocol = "application/HTTP-SPNEGO-session-encrypted";
                black_box(encryption::seal(&mut ctx, protocol, soap.as_bytes()).unwrap());
            })
        })
    });
    g.finish();

    // End to end over HTTP: client CPU only.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10).measurement_time(Duration::from_secs(6));

    const N: i32 = 10_000;
    let bodies = receives(1..=N);
    let per_run = bodies.len();
    let host = BenchHost::start(bodies).unwrap();
    let mut wsman = client(&host.url());
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("receive_10k_objects", |b| {
        b.iter_custom(|iters| {
            thread_cpu(iters, || {
                let mut reassembler = Reassembler::default();
                let mut n = 0;
                rt.block_on(async {
                    for _ in 0..per_run {
                        let r = wsman
                            .receive_once(RESOURCE, SHELL_ID, Some(COMMAND_ID), "stdout")
                            .await
                            .unwrap()
                            .unwrap();
                        n += decode(&r, &mut reassembler);
                    }
                });
                assert_eq!(n, N as usize);
            })
        })
    });
    drop(host);

    let ack = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse</a:Action><a:MessageID>uuid:9C1E2A3B-4D5F-4A6B-8C7D-9E0F1A2B3C4D</a:MessageID></s:Header><s:Body><rsp:SendResponse/></s:Body></s:Envelope>"#;
    let host = BenchHost::start(vec![ack.to_vec()]).unwrap();
    let mut wsman = client(&host.url());
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("send_1mib", |b| {
        b.iter_custom(|iters| {
            thread_cpu(iters, || {
                let s = SendStream {
                    name: "stdin",
                    command_id: Some(COMMAND_ID),
                    end: false,
                    data: &input,
                };
                rt.block_on(wsman.send(RESOURCE, SHELL_ID, &[s])).unwrap();
            })
        })
    });
    drop(host);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
