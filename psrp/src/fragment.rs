//! Fragments ([MS-PSRP] 2.2.4): how messages are cut to fit a transport
//! packet and put back together.
//!
//! A fragment is a 21-byte header (ObjectId u64, FragmentId u64, a flags byte
//! with bit 0 = start and bit 1 = end, BlobLength u32, all big-endian)
//! followed by BlobLength bytes of the message. One packet (a WS-Man
//! `rsp:Stream`, an out-of-process `<Data>`) carries one or more fragments,
//! and fragments of different objects may interleave.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use crate::error::{Error, Result};

/// Size of the fragment header ([MS-PSRP] 2.2.4).
pub const HEADER_LEN: usize = 21;

/// The smallest packet [`Packer::next_packet`] accepts: a header and one
/// byte of data.
pub const MIN_PACKET_SIZE: usize = HEADER_LEN + 1;

const FLAG_START: u8 = 0x1;
const FLAG_END: u8 = 0x2;

/// One fragment of a message ([MS-PSRP] 2.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// The message this fragment belongs to, unique per sender.
    pub object_id: u64,
    /// The position of this fragment in its message, from 0.
    pub fragment_id: u64,
    /// The first fragment of the message (S flag).
    pub start: bool,
    /// The last fragment of the message (E flag).
    pub end: bool,
    /// The part of the message this fragment carries.
    pub data: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Decodes the fragment at the start of `buf`; returns it and the number
    /// of bytes it used, or `Ok(None)` when `buf` holds only part of it.
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Fragment<'a>, usize)>> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let object_id = u64::from_be_bytes(buf[0..8].try_into().expect("8 bytes"));
        let fragment_id = u64::from_be_bytes(buf[8..16].try_into().expect("8 bytes"));
        let flags = buf[16];
        if flags & !(FLAG_START | FLAG_END) != 0 {
            return Err(Error::malformed(
                "fragment",
                format!("unknown flag bits {flags:#04x} (object {object_id})"),
            ));
        }
        let len = u32::from_be_bytes(buf[17..21].try_into().expect("4 bytes")) as usize;
        let total = HEADER_LEN + len;
        if buf.len() < total {
            return Ok(None);
        }
        Ok(Some((
            Fragment {
                object_id,
                fragment_id,
                start: flags & FLAG_START != 0,
                end: flags & FLAG_END != 0,
                data: &buf[HEADER_LEN..total],
            },
            total,
        )))
    }

    /// The announced BlobLength of a fragment whose header is at the start
    /// of `buf`, if the header is complete.
    fn announced_len(buf: &[u8]) -> Option<u32> {
        (buf.len() >= HEADER_LEN).then(|| u32::from_be_bytes(buf[17..21].try_into().expect("4")))
    }

    /// Appends the encoded fragment to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.object_id.to_be_bytes());
        out.extend_from_slice(&self.fragment_id.to_be_bytes());
        let mut flags = 0;
        if self.start {
            flags |= FLAG_START;
        }
        if self.end {
            flags |= FLAG_END;
        }
        out.push(flags);
        let len = u32::try_from(self.data.len()).expect("fragment data fits a u32");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(self.data);
    }
}

/// The WS-Man input stream a payload is sent on ([MS-PSRP] 3.1.5.3.5):
/// host responses travel on `pr` so the server can read them while a
/// pipeline blocks on its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Stream {
    /// `stdin`: everything but host responses.
    #[default]
    Default,
    /// `pr`: PIPELINE_HOST_RESPONSE and RUNSPACEPOOL_HOST_RESPONSE.
    PromptResponse,
}

impl Stream {
    /// The WS-Man stream name: `stdin` or `pr`.
    pub fn wsman_name(self) -> &'static str {
        match self {
            Stream::Default => "stdin",
            Stream::PromptResponse => "pr",
        }
    }

    /// The out-of-process transport's `Stream` attribute: `Default` or
    /// `PromptResponse`.
    pub fn oop_name(self) -> &'static str {
        match self {
            Stream::Default => "Default",
            Stream::PromptResponse => "PromptResponse",
        }
    }
}

/// One packet for the transport: whole or partial fragments of one or more
/// messages, all for the same stream and the same target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The encoded fragments (not yet base64).
    pub data: Vec<u8>,
    /// The input stream to send them on.
    pub stream: Stream,
    /// The pipeline (WS-Man CommandId) they belong to, or `None` for the
    /// RunspacePool itself.
    pub pipeline_id: Option<Uuid>,
}

#[derive(Debug)]
struct Queued {
    object_id: u64,
    data: Vec<u8>,
    sent: usize,
    next_fragment: u64,
    stream: Stream,
    pipeline_id: Option<Uuid>,
}

/// Buffers kept for reuse ([`Packer::recycle`]): a packet being sent, the
/// message being cut and the next one queued.
const MAX_SPARE_BUFFERS: usize = 4;

/// A buffer larger than this (a message of many MiB) is freed rather than
/// kept.
const MAX_SPARE_CAPACITY: usize = 4 << 20;

/// Cuts queued messages into fragments and packs them into packets of a
/// given maximum size ([MS-PSRP] 2.2.4, 3.1.5.3.5).
///
/// The buffers of messages sent and of packets given back
/// ([`Packer::recycle`]) are reused for the next ones, so that streaming
/// input (a file copy's chunks of hundreds of KB) does not take fresh
/// memory from the system for every packet.
#[derive(Debug, Default)]
pub struct Packer {
    queue: VecDeque<Queued>,
    next_object_id: u64,
    spare: Vec<Vec<u8>>,
}

impl Packer {
    /// An empty packer whose first message gets ObjectId 1.
    pub fn new() -> Self {
        Packer {
            queue: VecDeque::new(),
            next_object_id: 1,
            spare: Vec::new(),
        }
    }

    /// An empty buffer, reused when one was given back: for a message to
    /// [`push`](Self::push), or a packet.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Gives back a buffer (a packet's [`Outgoing::data`] once sent) for
    /// the next messages and packets.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_SPARE_BUFFERS
            && buf.capacity() > 0
            && buf.capacity() <= MAX_SPARE_CAPACITY
        {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// Queues one encoded message; returns its ObjectId.
    pub fn push(&mut self, message: Vec<u8>, stream: Stream, pipeline_id: Option<Uuid>) -> u64 {
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        self.queue.push_back(Queued {
            object_id,
            data: message,
            sent: 0,
            next_fragment: 0,
            stream,
            pipeline_id,
        });
        object_id
    }

    /// Whether nothing is waiting to be sent.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether something is waiting for the given target.
    pub fn has_data_for(&self, pipeline_id: Option<Uuid>) -> bool {
        self.queue.iter().any(|q| q.pipeline_id == pipeline_id)
    }

    /// The bytes the queued messages of one target take as one fragment
    /// each (what must fit for them to go in a single packet).
    pub fn whole_size_for(&self, pipeline_id: Option<Uuid>) -> usize {
        self.queue
            .iter()
            .filter(|q| q.pipeline_id == pipeline_id)
            .map(|q| HEADER_LEN + q.data.len() - q.sent)
            .sum()
    }

    /// The next packet of at most `max_size` bytes: fragments of queued
    /// messages in order, as many as fit, all for the same stream and
    /// pipeline as the first. `None` when nothing is queued.
    pub fn next_packet(&mut self, max_size: usize) -> Result<Option<Outgoing>> {
        if max_size < MIN_PACKET_SIZE {
            return Err(Error::Misuse(format!(
                "a packet of {max_size} bytes cannot hold a fragment; it needs at least {MIN_PACKET_SIZE}"
            )));
        }
        let Some(first) = self.queue.front() else {
            return Ok(None);
        };
        let (stream, pipeline_id) = (first.stream, first.pipeline_id);
        self.next_packet_where(max_size, |q| {
            q.stream == stream && q.pipeline_id == pipeline_id
        })
    }

    /// Like [`Packer::next_packet`] but only for messages of one target
    /// (the RunspacePool with `None`, or a pipeline).
    pub fn next_packet_for(
        &mut self,
        max_size: usize,
        pipeline_id: Option<Uuid>,
    ) -> Result<Option<Outgoing>> {
        if max_size < MIN_PACKET_SIZE {
            return Err(Error::Misuse(format!(
                "a packet of {max_size} bytes cannot hold a fragment; it needs at least {MIN_PACKET_SIZE}"
            )));
        }
        let Some(first) = self.queue.iter().find(|q| q.pipeline_id == pipeline_id) else {
            return Ok(None);
        };
        let stream = first.stream;
        self.next_packet_where(max_size, |q| {
            q.stream == stream && q.pipeline_id == pipeline_id
        })
    }

    fn next_packet_where(
        &mut self,
        max_size: usize,
        matches: impl Fn(&Queued) -> bool,
    ) -> Result<Option<Outgoing>> {
        let mut out = self.buffer();
        let mut stream = Stream::Default;
        let mut target = None;
        let mut i = 0;
        while i < self.queue.len() {
            let room = max_size - out.len();
            if room < MIN_PACKET_SIZE {
                break;
            }
            let q = &mut self.queue[i];
            if !matches(q) {
                // Keep the order of messages to one target: stop at the
                // first message for another target only if nothing of ours
                // follows; skipping is safe since targets are independent.
                i += 1;
                continue;
            }
            stream = q.stream;
            target = q.pipeline_id;
            let left = q.data.len() - q.sent;
            let take = left.min(room - HEADER_LEN);
            let fragment = Fragment {
                object_id: q.object_id,
                fragment_id: q.next_fragment,
                start: q.next_fragment == 0,
                end: take == left,
                data: &q.data[q.sent..q.sent + take],
            };
            fragment.encode_into(&mut out);
            q.sent += take;
            q.next_fragment += 1;
            if q.sent == q.data.len() {
                if let Some(done) = self.queue.remove(i) {
                    self.recycle(done.data);
                }
            } else {
                // The packet is full.
                break;
            }
        }
        if out.is_empty() {
            self.recycle(out);
            return Ok(None);
        }
        Ok(Some(Outgoing {
            data: out,
            stream,
            pipeline_id: target,
        }))
    }
}

/// Default bound on the bytes held for messages being reassembled, summed
/// over all objects: 64 MiB.
pub const DEFAULT_MAX_BUFFERED: usize = 64 * 1024 * 1024;

/// Bound on the number of messages being reassembled at once: a peer that
/// starts objects it never finishes (even with empty fragments) cannot
/// grow the table without limit. PowerShell interleaves a handful.
pub const MAX_PARTIAL_OBJECTS: usize = 1024;

/// Bound on the ranges of ObjectIds not yet seen below the highest one seen
/// (see `SeenObjects`). Each range is one message still to come on
/// another stream (a pipeline's output while the pool's own messages
/// arrive); beyond this many, the oldest range is given up and an ObjectId
/// from it is refused as too old.
pub const MAX_OBJECT_ID_GAPS: usize = 4096;

/// The ObjectIds a receiver has seen, to refuse a repeated message.
///
/// A sender numbers its messages with one counter ([MS-PSRP] 2.2.4: the
/// ObjectId is unique per sender; Windows and psrpcore count up from 1
/// over the RunspacePool and all its pipelines), so within one stream
/// ObjectIds only increase and no ObjectId comes twice. Messages of
/// different streams (the pool's, each pipeline's) may arrive out of order
/// relative to each other, so the receiver keeps the highest ObjectId seen
/// and the ranges below it that are still to come: an ObjectId is new when
/// it is above the highest or inside one of those ranges. Memory is one
/// range per gap, bounded by [`MAX_OBJECT_ID_GAPS`].
#[derive(Debug, Default)]
struct SeenObjects {
    /// The highest ObjectId seen, `None` before the first.
    highest: Option<u64>,
    /// Inclusive ranges below `highest` not seen yet, in increasing order.
    gaps: VecDeque<(u64, u64)>,
    /// ObjectIds below this were given up when the gaps overflowed.
    floor: u64,
}

impl SeenObjects {
    /// Records `id`; fails if it was seen before (or is older than what is
    /// still remembered).
    fn record(&mut self, id: u64) -> Result<()> {
        let Some(highest) = self.highest else {
            if id > 0 {
                self.gaps.push_back((0, id - 1));
            }
            self.highest = Some(id);
            return Ok(());
        };
        if id > highest {
            if id > highest + 1 {
                self.gaps.push_back((highest + 1, id - 1));
                if self.gaps.len() > MAX_OBJECT_ID_GAPS {
                    let (_, end) = self.gaps.pop_front().expect("not empty");
                    self.floor = end + 1;
                }
            }
            self.highest = Some(id);
            return Ok(());
        }
        if id < self.floor {
            return Err(Error::malformed(
                "fragment",
                format!(
                    "object {id} arrived after objects up to {highest}: older than any still awaited (the stream was repeated or replayed)"
                ),
            ));
        }
        // Binary search for the gap that holds `id`.
        let i = self.gaps.partition_point(|&(_, end)| end < id);
        match self.gaps.get(i).copied() {
            Some((start, end)) if start <= id => {
                match (start == id, end == id) {
                    (true, true) => {
                        self.gaps.remove(i);
                    }
                    (true, false) => self.gaps[i].0 = id + 1,
                    (false, true) => self.gaps[i].1 = id - 1,
                    (false, false) => {
                        self.gaps[i].1 = id - 1;
                        self.gaps.insert(i + 1, (id + 1, end));
                        if self.gaps.len() > MAX_OBJECT_ID_GAPS {
                            let (_, end) = self.gaps.pop_front().expect("not empty");
                            self.floor = end + 1;
                        }
                    }
                }
                Ok(())
            }
            _ => Err(Error::malformed(
                "fragment",
                format!(
                    "object {id} arrived a second time (after objects up to {highest}): the stream was repeated or replayed"
                ),
            )),
        }
    }
}

#[derive(Debug)]
struct Partial {
    next_fragment: u64,
    data: Vec<u8>,
}

/// Puts fragments back together into messages, per ObjectId, with
/// interleaving ([MS-PSRP] 2.2.4).
///
/// Received bytes may end in the middle of a fragment; the rest is kept
/// until the next call. The total held (partial fragments and partial
/// messages) is bounded: a hostile BlobLength is refused before anything is
/// allocated for it.
///
/// A message whose ObjectId was seen before (a repeated or replayed
/// stream), a fragment that is not the next of its message, and a
/// fragment of a message not started are protocol errors, never skipped.
#[derive(Debug)]
pub struct Reassembler {
    partial: HashMap<u64, Partial>,
    seen: SeenObjects,
    pending: Vec<u8>,
    buffered: usize,
    max_buffered: usize,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BUFFERED)
    }
}

impl Reassembler {
    /// A reassembler that holds at most `max_buffered` bytes of incomplete
    /// messages at any time.
    pub fn new(max_buffered: usize) -> Self {
        Reassembler {
            partial: HashMap::new(),
            seen: SeenObjects::default(),
            pending: Vec::new(),
            buffered: 0,
            max_buffered,
        }
    }

    /// Forgets which ObjectIds were seen (messages being reassembled are
    /// kept). For a reconnection ([MS-PSRP] 3.1.4.9, 3.1.4.10): Windows
    /// sends the RunspacePool's state again with the ObjectId it had
    /// before the disconnection.
    pub fn forget_seen(&mut self) {
        self.seen = SeenObjects::default();
    }

    /// Bytes currently held for incomplete fragments and messages.
    pub fn buffered(&self) -> usize {
        self.buffered + self.pending.len()
    }

    /// Feeds received bytes; returns every message they complete, with its
    /// ObjectId, in the order their last fragment arrived.
    ///
    /// After an error the reassembler has dropped the messages it held (the
    /// stream cannot be trusted any more); it still remembers the
    /// ObjectIds it saw.
    pub fn feed(&mut self, input: &[u8]) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut done = Vec::new();
        self.feed_with(input, |id, bytes| {
            done.push((id, bytes.into_owned()));
            Ok(())
        })?;
        Ok(done)
    }

    /// [`feed`](Self::feed) handing each completed message to `each` as it
    /// completes: a message that came whole in one fragment is lent from
    /// `input` (not copied), a reassembled one is given. An error from
    /// `each` stops the feeding and is returned, as the reassembler's own
    /// errors are (with the same forgetting of what it held).
    pub fn feed_with(
        &mut self,
        mut input: &[u8],
        mut each: impl FnMut(u64, Cow<'_, [u8]>) -> Result<()>,
    ) -> Result<()> {
        let result = (|| {
            if !self.pending.is_empty() {
                // Complete the pending fragment from the new bytes first.
                let need = if let Some(len) = Fragment::announced_len(&self.pending) {
                    HEADER_LEN + len as usize - self.pending.len()
                } else {
                    let need_header = HEADER_LEN - self.pending.len();
                    let take = need_header.min(input.len());
                    self.pending.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    match Fragment::announced_len(&self.pending) {
                        Some(len) => {
                            self.check_len(len)?;
                            HEADER_LEN + len as usize - self.pending.len()
                        }
                        None => return Ok(()),
                    }
                };
                let take = need.min(input.len());
                self.pending.extend_from_slice(&input[..take]);
                input = &input[take..];
                if take < need {
                    return Ok(());
                }
                let pending = std::mem::take(&mut self.pending);
                let (fragment, _) = Fragment::decode(&pending)?.expect("complete fragment");
                if let Some((id, msg)) = self.accept(fragment)? {
                    each(id, Cow::Owned(msg.into_owned()))?;
                }
            }
            while !input.is_empty() {
                if let Some(len) = Fragment::announced_len(input) {
                    self.check_len(len)?;
                }
                match Fragment::decode(input)? {
                    Some((fragment, used)) => {
                        input = &input[used..];
                        if let Some((id, msg)) = self.accept(fragment)? {
                            each(id, msg)?;
                        }
                    }
                    None => {
                        self.pending.extend_from_slice(input);
                        input = &[];
                    }
                }
            }
            Ok(())
        })();
        if result.is_err() {
            self.partial.clear();
            self.pending.clear();
            self.buffered = 0;
        }
        result
    }

    fn check_len(&self, len: u32) -> Result<()> {
        let total = self.buffered as u64 + len as u64;
        if total > self.max_buffered as u64 {
            return Err(Error::TooLarge {
                what: "fragment",
                size: len as u64,
                limit: (self.max_buffered - self.buffered) as u64,
            });
        }
        Ok(())
    }

    fn accept<'a>(&mut self, f: Fragment<'a>) -> Result<Option<(u64, Cow<'a, [u8]>)>> {
        if f.start {
            if f.fragment_id != 0 {
                return Err(Error::malformed(
                    "fragment",
                    format!(
                        "object {} starts with fragment id {}, not 0",
                        f.object_id, f.fragment_id
                    ),
                ));
            }
            if !self.partial.is_empty() && self.partial.contains_key(&f.object_id) {
                return Err(Error::malformed(
                    "fragment",
                    format!("object {} started twice", f.object_id),
                ));
            }
            self.seen.record(f.object_id)?;
            if f.end {
                return Ok(Some((f.object_id, Cow::Borrowed(f.data))));
            }
            if self.partial.len() >= MAX_PARTIAL_OBJECTS {
                return Err(Error::TooLarge {
                    what: "number of incomplete messages",
                    size: self.partial.len() as u64 + 1,
                    limit: MAX_PARTIAL_OBJECTS as u64,
                });
            }
            self.buffered += f.data.len();
            self.partial.insert(
                f.object_id,
                Partial {
                    next_fragment: 1,
                    data: f.data.to_vec(),
                },
            );
            return Ok(None);
        }
        let Some(p) = self.partial.get_mut(&f.object_id) else {
            return Err(Error::malformed(
                "fragment",
                format!(
                    "fragment {} of object {} arrived before its start fragment",
                    f.fragment_id, f.object_id
                ),
            ));
        };
        if f.fragment_id != p.next_fragment {
            return Err(Error::malformed(
                "fragment",
                format!(
                    "object {} expected fragment id {} but got {}",
                    f.object_id, p.next_fragment, f.fragment_id
                ),
            ));
        }
        p.next_fragment += 1;
        p.data.extend_from_slice(f.data);
        self.buffered += f.data.len();
        if f.end {
            let p = self.partial.remove(&f.object_id).expect("present");
            self.buffered -= p.data.len();
            return Ok(Some((f.object_id, Cow::Owned(p.data))));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_matches_the_spec() {
        let mut out = Vec::new();
        Fragment {
            object_id: 1,
            fragment_id: 2,
            start: false,
            end: true,
            data: b"abc",
        }
        .encode_into(&mut out);
        assert_eq!(
            out,
            [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 3, b'a', b'b', b'c']
        );
        let (f, used) = Fragment::decode(&out).unwrap().unwrap();
        assert_eq!(used, out.len());
        assert_eq!(
            (f.object_id, f.fragment_id, f.start, f.end),
            (1, 2, false, true)
        );
    }

    #[test]
    fn packs_several_messages_in_one_packet_and_splits_large_ones() {
        let mut p = Packer::new();
        p.push(vec![1; 10], Stream::Default, None);
        p.push(vec![2; 100], Stream::Default, None);
        let first = p.next_packet(21 + 10 + 21 + 30).unwrap().unwrap();
        assert_eq!(first.data.len(), 82);
        let mut r = Reassembler::default();
        let msgs = r.feed(&first.data).unwrap();
        assert_eq!(msgs, vec![(1, vec![1; 10])]);
        let mut all = Vec::new();
        while let Some(pkt) = p.next_packet(40).unwrap() {
            assert!(pkt.data.len() <= 40);
            all.extend(r.feed(&pkt.data).unwrap());
        }
        assert_eq!(all, vec![(2, vec![2; 100])]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn packets_do_not_mix_targets_or_streams() {
        let mut p = Packer::new();
        let pid = Uuid::from_u128(7);
        p.push(vec![1; 5], Stream::Default, None);
        p.push(vec![2; 5], Stream::Default, Some(pid));
        p.push(vec![3; 5], Stream::PromptResponse, Some(pid));
        let a = p.next_packet(1000).unwrap().unwrap();
        assert_eq!(
            (a.pipeline_id, a.stream, a.data.len()),
            (None, Stream::Default, 26)
        );
        let b = p.next_packet(1000).unwrap().unwrap();
        assert_eq!((b.pipeline_id, b.stream), (Some(pid), Stream::Default));
        let c = p.next_packet(1000).unwrap().unwrap();
        assert_eq!(c.stream, Stream::PromptResponse);
        assert!(p.next_packet(1000).unwrap().is_none());
        assert!(p.next_packet(21).is_err());
    }

    #[test]
    fn interleaved_objects_and_split_headers_reassemble() {
        let mut wire = Vec::new();
        for (oid, fid, s, e, d) in [
            (1u64, 0u64, true, false, &b"ab"[..]),
            (2, 0, true, false, b"xy"),
            (1, 1, false, true, b"cd"),
            (2, 1, false, true, b"z"),
        ] {
            Fragment {
                object_id: oid,
                fragment_id: fid,
                start: s,
                end: e,
                data: d,
            }
            .encode_into(&mut wire);
        }
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        for chunk in wire.chunks(5) {
            got.extend(r.feed(chunk).unwrap());
        }
        assert_eq!(got, vec![(1, b"abcd".to_vec()), (2, b"xyz".to_vec())]);
    }

    #[test]
    fn out_of_order_and_hostile_lengths_are_errors() {
        let mut wire = Vec::new();
        Fragment {
            object_id: 1,
            fragment_id: 0,
            start: true,
            end: false,
            data: b"a",
        }
        .encode_into(&mut wire);
        Fragment {
            object_id: 1,
            fragment_id: 2,
            start: false,
            end: true,
            data: b"b",
        }
        .encode_into(&mut wire);
        let err = Reassembler::default().feed(&wire).unwrap_err();
        assert!(
            err.to_string().contains("expected fragment id 1 but got 2"),
            "{err}"
        );

        let mut hostile = vec![0u8; 17];
        hostile.push(3);
        hostile.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut r = Reassembler::new(1024);
        assert!(matches!(r.feed(&hostile), Err(Error::TooLarge { .. })));
        assert_eq!(r.buffered(), 0);

        // Objects started and never finished, with empty fragments.
        let mut wire = Vec::new();
        for oid in 0..=MAX_PARTIAL_OBJECTS as u64 {
            Fragment {
                object_id: oid,
                fragment_id: 0,
                start: true,
                end: false,
                data: b"",
            }
            .encode_into(&mut wire);
        }
        let err = Reassembler::default().feed(&wire).unwrap_err();
        assert!(err.to_string().contains("incomplete messages"), "{err}");
    }

    fn whole(object_id: u64, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Fragment {
            object_id,
            fragment_id: 0,
            start: true,
            end: true,
            data,
        }
        .encode_into(&mut out);
        out
    }

    #[test]
    fn a_repeated_object_is_refused() {
        // A man in the middle repeating a whole stream: the same ObjectIds
        // again, each message complete.
        let mut r = Reassembler::default();
        let mut stream = Vec::new();
        for oid in 4..=6 {
            stream.extend(whole(oid, b"x"));
        }
        assert_eq!(r.feed(&stream).unwrap().len(), 3);
        let err = r.feed(&stream).unwrap_err();
        assert!(
            err.to_string().contains("object 4 arrived a second time"),
            "{err}"
        );
        // Also after the error: it remembers what it saw.
        let err = r.feed(&whole(5, b"x")).unwrap_err();
        assert!(err.to_string().contains("second time"), "{err}");
        assert_eq!(r.feed(&whole(7, b"x")).unwrap().len(), 1);
    }

    #[test]
    fn a_repeated_start_of_a_multi_fragment_object_is_refused() {
        let mut r = Reassembler::default();
        let mut wire = Vec::new();
        for (fid, s, e) in [(0, true, false), (1, false, true)] {
            Fragment {
                object_id: 9,
                fragment_id: fid,
                start: s,
                end: e,
                data: b"ab",
            }
            .encode_into(&mut wire);
        }
        assert_eq!(r.feed(&wire).unwrap(), vec![(9, b"abab".to_vec())]);
        let err = r.feed(&wire).unwrap_err();
        assert!(
            err.to_string().contains("object 9 arrived a second time"),
            "{err}"
        );
    }

    #[test]
    fn objects_of_other_streams_may_arrive_later_but_only_once() {
        // The pool's 1..3, a pipeline's 6 and 8 (its 4, 5 and 7 still on
        // another stream), then those.
        let mut r = Reassembler::default();
        for oid in [1, 2, 3, 6, 8, 4, 7, 5, 9] {
            assert_eq!(r.feed(&whole(oid, b"m")).unwrap().len(), 1, "object {oid}");
        }
        for oid in [1, 4, 5, 7, 8, 9] {
            let err = r.feed(&whole(oid, b"m")).unwrap_err();
            assert!(err.to_string().contains("second time"), "{oid}: {err}");
        }
        // After a reconnection the pool's state comes again.
        r.forget_seen();
        assert_eq!(r.feed(&whole(10, b"m")).unwrap().len(), 1);
        assert_eq!(r.feed(&whole(3, b"m")).unwrap().len(), 1);
    }

    #[test]
    fn remembered_gaps_are_bounded() {
        let mut r = Reassembler::default();
        // Every other ObjectId: one gap each.
        for k in 0..=MAX_OBJECT_ID_GAPS as u64 + 10 {
            r.feed(&whole(2 * k + 1, b"")).unwrap();
        }
        assert!(r.seen.gaps.len() <= MAX_OBJECT_ID_GAPS);
        // The oldest gaps were given up: refused as too old; a recent gap
        // is still accepted once.
        let err = r.feed(&whole(2, b"")).unwrap_err();
        assert!(
            err.to_string().contains("older than any still awaited"),
            "{err}"
        );
        let recent = 2 * (MAX_OBJECT_ID_GAPS as u64 + 10);
        r.feed(&whole(recent, b"")).unwrap();
        assert!(r.feed(&whole(recent, b"")).is_err());
        // A hostile jump costs one gap, not memory per id.
        r.feed(&whole(u64::MAX, b"")).unwrap();
        assert!(r.feed(&whole(u64::MAX, b"")).is_err());
    }
}
