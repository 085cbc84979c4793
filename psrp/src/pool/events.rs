//! The RunspacePool's queue of [`Event`]s waiting for the caller.
//!
//! A Receive can bring thousands of PIPELINE_OUTPUT messages at once
//! ([MS-PSRP] 3.1.5.4.1); each becomes an event queued until the caller
//! takes it. An [`Event`] is as large as its largest variant (an
//! ErrorRecord), several times an output's size, so outputs are queued in
//! a compact form and everything else boxed: a burst costs a few dozen
//! bytes an object, not hundreds.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::collections::VecDeque;

use uuid::Uuid;

use crate::clixml::Value;
use crate::event::Event;

/// Room kept once a small burst is taken.
const KEPT_EVENT_ROOM: usize = 64;

/// An event as it waits in the queue.
#[derive(Debug)]
enum Queued {
    /// [`Event::Output`], unboxed: the bulk of a large Receive.
    Output { pipeline_id: Uuid, value: Value },
    /// Any other event.
    Other(Box<Event>),
}

/// First in, first out; the room a burst needed is kept for a burst of
/// the same size (a pipeline's Receives are usually alike) and given back
/// after a smaller one, so a session does not keep its largest burst for
/// the rest of its life.
#[derive(Debug, Default)]
pub(super) struct EventQueue {
    queue: VecDeque<Queued>,
    /// The longest the queue was since it was last empty.
    peak: usize,
}

impl EventQueue {
    /// Queues `event` last.
    pub(super) fn push_back(&mut self, event: Event) {
        self.queue.push_back(match event {
            Event::Output { pipeline_id, value } => Queued::Output { pipeline_id, value },
            other => Queued::Other(Box::new(other)),
        });
        self.peak = self.peak.max(self.queue.len());
    }

    /// Queues the [`Event::Output`] of `value` last.
    pub(super) fn push_output(&mut self, pipeline_id: Uuid, value: Value) {
        self.queue.push_back(Queued::Output { pipeline_id, value });
        self.peak = self.peak.max(self.queue.len());
    }

    /// The first event; once none is left, the room beyond the burst just
    /// taken is given back.
    pub(super) fn pop_front(&mut self) -> Option<Event> {
        match self.queue.pop_front() {
            Some(Queued::Output { pipeline_id, value }) => {
                Some(Event::Output { pipeline_id, value })
            }
            Some(Queued::Other(event)) => Some(*event),
            None => {
                let keep = self.peak.max(KEPT_EVENT_ROOM);
                if self.queue.capacity() > keep {
                    self.queue.shrink_to(keep);
                }
                self.peak = 0;
                None
            }
        }
    }

    /// How many events are queued.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    /// The room held, in events.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(n: i32) -> Event {
        Event::Output {
            pipeline_id: Uuid::from_u128(7),
            value: Value::I32(n),
        }
    }

    #[test]
    fn keeps_order_across_kinds() {
        let mut q = EventQueue::default();
        q.push_back(output(1));
        q.push_back(Event::KeyExchanged);
        q.push_back(output(2));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop_front(), Some(output(1)));
        assert_eq!(q.pop_front(), Some(Event::KeyExchanged));
        assert_eq!(q.pop_front(), Some(output(2)));
        assert_eq!(q.pop_front(), None);
    }

    #[test]
    fn room_follows_the_last_burst() {
        let mut q = EventQueue::default();
        let burst = |q: &mut EventQueue, n: i32| {
            for i in 0..n {
                q.push_back(output(i));
            }
            while q.pop_front().is_some() {}
        };
        burst(&mut q, 3000);
        let after_big = q.capacity();
        assert!(after_big >= 3000, "room for an equal burst is kept");
        burst(&mut q, 3000);
        assert_eq!(q.capacity(), after_big, "an equal burst needs no new room");
        burst(&mut q, 10);
        assert!(q.capacity() < 3000, "a small burst gives the room back");
    }
}
