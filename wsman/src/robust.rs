//! The client side of [MS-WSMV] 3.1.4.1.39 robust connections: which
//! resources the host handles robustly, and the Receives whose answers were
//! lost and must be asked for again.
//!
//! Every shell request carries a fresh `wsmv:OperationID`
//! (`s:mustUnderstand="false"`) and `wsmv:SequenceId` 1 (3.2.6.5). A host
//! that handles the resource robustly echoes the OperationID in its answers
//! (with `wsmv:SequenceId`, 1 for the only answer of a request) and keeps
//! each answer before sending it (3.1.6.6). When the connection drops after
//! a request was written, the client sends the same request again on a new
//! connection with the OperationID marked `s:mustUnderstand="true"`
//! (3.2.5.3), and the host sends the kept answer instead of acting twice.
//! Sending the next new request on a connection tells the host that the
//! answers it sent on it arrived (3.1.4.1.39 step 3: the kept answers of
//! the previous operation are dropped); that is this client's
//! acknowledgement, as requests go one at a time per connection.
//!
//! A host that does not echo the OperationID (the WinRS `cmd` shell, which
//! 3.1.4.1.39 does not list; Windows 7 / 2008 R2) keeps nothing: a lost
//! Receive answer is then reported ([`crate::transport::AnswerLost`]), never
//! skipped over.
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::soap::response::EnvelopeInfo;
use crate::{Error, Result};

/// How many times one request is retransmitted after its answer was lost
/// before the error is returned (each on a new connection, after 200 ms,
/// 400 ms, 800 ms).
pub(crate) const MAX_RETRANSMISSIONS: u32 = 3;

/// How long after its answer was lost a Receive may still be retransmitted:
/// the client's retry window of [MS-WSMV] 3.2.5.3 (180 s), within the 3 min
/// 15 s the host keeps answers (3.1.2). Later, the host may have dropped
/// the kept answer and would answer the retransmission as a new request,
/// skipping the lost output, so the loss is reported instead.
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
pub(crate) const RETRANSMIT_WINDOW: Duration = Duration::from_secs(180);

/// Receives whose answers were lost, kept for a retransmission: at most
/// this many (a pool and a few pipelines).
const MAX_PENDING: usize = 16;

/// A Receive whose answer was lost on a robust host: the next Receive of
/// the same shell, command and streams retransmits it.
#[derive(Debug, Clone)]
pub(crate) struct PendingReceive {
    pub key: String,
    pub message_id: String,
    pub operation_id: String,
    pub operation_timeout: Option<Duration>,
    /// When the answer was first found lost.
    pub since: Instant,
}

impl PendingReceive {
    /// Too late to retransmit: the host may have dropped the kept answer.
    pub fn expired(&self) -> bool {
        self.since.elapsed() > RETRANSMIT_WINDOW
    }
}

/// Robust-connection state of one client.
#[derive(Debug, Default)]
pub(crate) struct Robust {
    /// Resource URIs whose last answer echoed the request's OperationID.
    supported: HashSet<String>,
    pending: Vec<PendingReceive>,
}

impl Robust {
    pub fn supports(&self, resource_uri: &str) -> bool {
        self.supported.contains(resource_uri)
    }

    /// Adds the resources `other` knows to be robust.
    pub fn inherit(&mut self, other: &Robust) {
        self.supported.extend(other.supported.iter().cloned());
    }

    /// Takes the pending Receive for `key`, if any.
    pub fn take_pending(&mut self, key: &str) -> Option<PendingReceive> {
        let i = self.pending.iter().position(|p| p.key == key)?;
        Some(self.pending.remove(i))
    }

    pub fn keep_pending(&mut self, p: PendingReceive) {
        self.pending.retain(|q| q.key != p.key);
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(p);
    }

    /// Learns from an answer to a request that carried `operation_id`
    /// whether the host handles `resource_uri` robustly, and checks the
    /// answer's robust headers: the OperationID must be the request's, and
    /// a SequenceId other than 1 says earlier answers never arrived.
    pub fn note_answer(
        &mut self,
        resource_uri: &str,
        operation_id: &str,
        info: &EnvelopeInfo,
    ) -> Result<()> {
        let Some(echo) = &info.operation_id else {
            if self.supported.remove(resource_uri) {
                tracing::debug!(resource_uri, "the host stopped echoing wsmv:OperationID");
            }
            return Ok(());
        };
        if !same_id(echo, operation_id) {
            return Err(Error::Protocol {
                message: format!(
                    "the answer carries wsmv:OperationID {echo}, not the request's {operation_id}: \
                     it belongs to another operation"
                ),
            });
        }
        if let Some(n) = info.sequence_id {
            if n != 1 {
                return Err(Error::Protocol {
                    message: format!(
                        "the answer is number {n} (wsmv:SequenceId) of operation {operation_id}, \
                         but answers 1 to {} of it never arrived: output may be missing",
                        n - 1
                    ),
                });
            }
        }
        if self.supported.insert(resource_uri.to_string()) {
            tracing::debug!(resource_uri, "the host handles this resource robustly");
        }
        Ok(())
    }
}

/// OperationIDs compare as GUIDs: `uuid:` prefix optional, any case
/// ([MS-WSMV] 2.2.4.45).
fn same_id(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        let s = s.trim();
        s.strip_prefix("uuid:").unwrap_or(s).to_ascii_lowercase()
    };
    strip(a) == strip(b)
}

/// A network failure (no connection, or no answer in time) rather than an
/// answer from the host.
pub(crate) fn unreachable(e: &Error) -> bool {
    matches!(
        e,
        Error::Transport {
            source: Some(_),
            ..
        } | Error::Timeout { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(op: Option<&str>, seq: Option<u64>) -> EnvelopeInfo {
        EnvelopeInfo {
            operation_id: op.map(str::to_string),
            sequence_id: seq,
            ..Default::default()
        }
    }

    #[test]
    fn support_is_learned_from_the_echo_and_forgotten_without_it() {
        let mut r = Robust::default();
        let id = "uuid:AB12CD34-0000-0000-0000-000000000001";
        r.note_answer("u", id, &info(Some(&id.to_lowercase()[5..]), Some(1)))
            .unwrap();
        assert!(r.supports("u"));
        r.note_answer("u", id, &info(None, None)).unwrap();
        assert!(!r.supports("u"));
    }

    #[test]
    fn a_foreign_operation_or_a_sequence_gap_is_an_error() {
        let mut r = Robust::default();
        let e = r
            .note_answer("u", "uuid:1", &info(Some("uuid:2"), Some(1)))
            .unwrap_err();
        assert!(e.to_string().contains("another operation"), "{e}");
        let e = r
            .note_answer("u", "uuid:1", &info(Some("uuid:1"), Some(3)))
            .unwrap_err();
        assert!(e.to_string().contains("answers 1 to 2"), "{e}");
        assert!(!r.supports("u"));
    }

    #[test]
    fn a_lost_answer_is_retransmitted_only_within_the_window() {
        let p = |ago: u64| PendingReceive {
            key: String::new(),
            message_id: String::new(),
            operation_id: String::new(),
            operation_timeout: None,
            since: Instant::now()
                .checked_sub(Duration::from_secs(ago))
                .unwrap_or_else(Instant::now),
        };
        assert!(!p(0).expired());
        assert!(!p(170).expired());
        if Instant::now()
            .checked_sub(Duration::from_secs(200))
            .is_some()
        {
            assert!(p(200).expired());
        }
    }

    #[test]
    fn pending_receives_are_bounded_and_taken_by_key() {
        let mut r = Robust::default();
        for i in 0..20 {
            r.keep_pending(PendingReceive {
                key: format!("k{i}"),
                message_id: String::new(),
                operation_id: String::new(),
                operation_timeout: None,
                since: Instant::now(),
            });
        }
        assert_eq!(r.pending.len(), MAX_PENDING);
        assert!(r.take_pending("k19").is_some());
        assert!(r.take_pending("k19").is_none());
        assert!(r.take_pending("k0").is_none(), "the oldest were dropped");
    }
}
