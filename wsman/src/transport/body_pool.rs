//! Buffers for the bodies of HTTP answers, reused from one answer to the
//! next. A Receive's answer is up to MaxEnvelopeSize (500 kB and more), and
//! the C allocator gives a buffer that large pages the kernel maps afresh
//! each time (it trims the heap's top or maps the block on its own), so a
//! fresh buffer per answer cost a page fault per 4 kB of every answer: a
//! third of a large download's client CPU. The pool is process-wide and
//! small, so thousands of idle sessions hold no buffer each; a caller that
//! is done with a [`super::Response`]'s body hands it back with [`recycle`].
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::sync::Mutex;

/// Answers of a known length below this get a buffer of their own (their
/// memory is no trouble for the allocator), so they do not take a large one
/// from the pool that their callers, who do not hand bodies back, would
/// then free.
pub const SMALL: usize = 64 << 10;
/// Buffers kept: enough for the answers a few connections decode at once.
const KEPT: usize = 4;
/// Larger buffers are freed rather than kept.
const MAX_KEPT_CAPACITY: usize = 4 << 20;

static POOL: Pool = Pool::new();

/// An empty buffer, with the memory of an earlier answer when one was
/// handed back.
pub(crate) fn take() -> Vec<u8> {
    POOL.take()
}

/// Hands back the body of an answer (a [`super::Response::body`]) once it
/// is parsed, or the data of a received stream once it is processed
/// ([`crate::soap::response::StreamData::data`]), for the next answer to be
/// read into. Buffers under [`SMALL`] are simply freed. Its bytes are not
/// wiped (a byte-wise wipe of each answer cost 3% of a download), as no
/// freed answer's are: they hold no key or password (secrets travel as
/// SecureStrings encrypted with the session key, [MS-PSRP] 2.2.5.1.24).
pub fn recycle(body: Vec<u8>) {
    POOL.recycle(body)
}

struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    const fn new() -> Pool {
        Pool(Mutex::new(Vec::new()))
    }

    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default()
    }

    fn recycle(&self, mut body: Vec<u8>) {
        if body.capacity() < SMALL || body.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        body.clear();
        if let Ok(mut p) = self.0.lock() {
            if p.len() < KEPT {
                p.push(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_comes_back_empty() {
        let pool = Pool::new();
        let mut b = Vec::with_capacity(64 << 10);
        b.extend_from_slice(b"secret plaintext");
        let ptr = b.as_ptr();
        pool.recycle(b);
        let t = pool.take();
        assert_eq!(t.as_ptr(), ptr, "the buffer handed back is taken again");
        assert!(t.is_empty() && t.capacity() >= 64 << 10);
        assert!(pool.take().capacity() == 0, "one buffer in, one out");
    }

    #[test]
    fn the_pool_is_bounded_and_keeps_no_huge_buffer() {
        let pool = Pool::new();
        pool.recycle(vec![0u8; MAX_KEPT_CAPACITY + 1]);
        assert_eq!(pool.take().capacity(), 0);
        pool.recycle(Vec::with_capacity(SMALL - 1));
        assert_eq!(pool.take().capacity(), 0, "small buffers are not kept");
        for _ in 0..KEPT + 3 {
            pool.recycle(Vec::with_capacity(SMALL));
        }
        let kept = std::iter::from_fn(|| Some(pool.take()))
            .take_while(|b| b.capacity() > 0)
            .count();
        assert_eq!(kept, KEPT);
    }
}
