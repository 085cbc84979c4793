//! HMAC-MD5 and RC4 over a sealed message in one pass: the `SEAL()` and
//! `UNSEAL()` of [MS-NLMP] 3.4.3 run both over every byte of every WinRM
//! body, and both are chains of dependent steps that leave most of the
//! processor idle. Here each of MD5's 64 steps over one block (RFC 1321
//! 3.4) is followed by the RC4 step of one byte of the neighbouring block,
//! so the two chains run side by side instead of one after the other.
//!
//! The MAC is of the plaintext: sealing encrypts the previous block while
//! hashing the current one; unsealing decrypts the next block while hashing
//! the current one. Neither writes the block the hash is reading.
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
use zeroize::Zeroize;

use super::crypto::Rc4;

/// Which bytes the MAC covers: those before the RC4 pass or after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Sealing: the MAC is of the bytes as given, RC4 runs afterwards.
    HashThenRc4,
    /// Unsealing: RC4 runs first, the MAC is of its output.
    Rc4ThenHash,
}

/// The MD5 initial state (RFC 1321 3.3).
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// MD5 (RFC 1321), streaming, with a fused RC4 path for whole blocks.
struct Md5 {
    state: [u32; 4],
    buf: [u8; 64],
    buf_len: usize,
    total: u64,
}

impl Md5 {
    fn new() -> Md5 {
        Md5 {
            state: INIT,
            buf: [0; 64],
            buf_len: 0,
            total: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            let w = words(&self.buf);
            compress(&mut self.state, &w, |_| {});
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for b in &mut blocks {
            compress(&mut self.state, &words(b), |_| {});
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Whole 64-byte blocks (`blocks.len()` a multiple of 64, nothing
    /// buffered), hashed with RC4 applied in the same pass in `order`.
    fn update_blocks_rc4(&mut self, blocks: &mut [u8], rc4: &mut Rc4, order: Order) {
        debug_assert!(self.buf_len == 0 && blocks.len() % 64 == 0);
        self.total += blocks.len() as u64;
        let mut ks = rc4.keystream();
        match order {
            Order::HashThenRc4 => {
                // Block k is hashed while block k-1, already hashed, is
                // encrypted, as unsealing does: RC4 never writes the block
                // whose words the hash is reading (writing it made the pass
                // 1.5 times slower: 2.62 against 1.75 ns/byte).
                let n = blocks.len() / 64;
                if n == 0 {
                    return;
                }
                compress(&mut self.state, &words(&blocks[..64]), |_| {});
                for k in 1..n {
                    let (done, ahead) = blocks.split_at_mut(k * 64);
                    let prev = &mut done[(k - 1) * 64..];
                    let w = words(&ahead[..64]);
                    compress(&mut self.state, &w, |i| prev[i] ^= ks.next_byte());
                }
                for x in &mut blocks[(n - 1) * 64..] {
                    *x ^= ks.next_byte();
                }
            }
            Order::Rc4ThenHash => {
                let n = blocks.len() / 64;
                if n == 0 {
                    return;
                }
                for x in &mut blocks[..64] {
                    *x ^= ks.next_byte();
                }
                for k in 0..n {
                    let (done, ahead) = blocks.split_at_mut((k + 1) * 64);
                    let w = words(&done[k * 64..]);
                    if k + 1 < n {
                        let next = &mut ahead[..64];
                        compress(&mut self.state, &w, |i| next[i] ^= ks.next_byte());
                    } else {
                        compress(&mut self.state, &w, |_| {});
                    }
                }
            }
        }
    }

    fn finish(mut self) -> [u8; 16] {
        let bits = self.total.wrapping_mul(8);
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        let zeros = (55usize.wrapping_sub(self.buf_len)) % 64;
        pad[1 + zeros..9 + zeros].copy_from_slice(&bits.to_le_bytes());
        let total = self.total;
        self.update(&pad[..9 + zeros]);
        self.total = total;
        debug_assert_eq!(self.buf_len, 0);
        let mut out = [0u8; 16];
        for (o, s) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&s.to_le_bytes());
        }
        out
    }
}

impl Drop for Md5 {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

/// `HMAC_MD5(key, prefix + message)` ([MS-NLMP] 6, RFC 2104) with RC4
/// applied to `message` in place in the same pass, in `order`.
pub fn hmac_md5_rc4(
    key: &[u8; 16],
    prefix: &[u8],
    message: &mut [u8],
    rc4: &mut Rc4,
    order: Order,
) -> [u8; 16] {
    let mut pad = [0u8; 64];
    for (p, k) in pad.iter_mut().zip(key.iter().chain(std::iter::repeat(&0))) {
        *p = k ^ 0x36;
    }
    let mut inner = Md5::new();
    inner.update(&pad);
    inner.update(prefix);
    // up to the next block boundary, then whole blocks, then the rest
    let head = ((64 - inner.buf_len) % 64).min(message.len());
    let (head, rest) = message.split_at_mut(head);
    let whole = rest.len() / 64 * 64;
    let (blocks, tail) = rest.split_at_mut(whole);
    separate(&mut inner, head, rc4, order);
    if !blocks.is_empty() {
        inner.update_blocks_rc4(blocks, rc4, order);
    }
    separate(&mut inner, tail, rc4, order);
    let inner = inner.finish();
    for p in pad.iter_mut() {
        *p ^= 0x36 ^ 0x5c;
    }
    let mut outer = Md5::new();
    outer.update(&pad);
    pad.zeroize();
    outer.update(&inner);
    outer.finish()
}

/// RC4 and the hash over `part` one after the other, in `order` (the
/// bytes around the whole blocks).
fn separate(md5: &mut Md5, part: &mut [u8], rc4: &mut Rc4, order: Order) {
    match order {
        Order::HashThenRc4 => {
            md5.update(part);
            rc4.apply_keystream(part);
        }
        Order::Rc4ThenHash => {
            rc4.apply_keystream(part);
            md5.update(part);
        }
    }
}

/// A block's sixteen little-endian words (RFC 1321 3.4).
#[inline(always)]
fn words(block: &[u8]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (w, b) in w.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}

#[inline(always)]
fn f(x: u32, y: u32, z: u32) -> u32 {
    z ^ (x & (y ^ z))
}
#[inline(always)]
fn g(x: u32, y: u32, z: u32) -> u32 {
    // (x AND z) OR (y AND NOT z) as a sum (the two terms share no bit): the
    // term without x, the step's newest variable, is ready before x is, so
    // one operation less waits on the previous step
    (x & z).wrapping_add(y & !z)
}
#[inline(always)]
fn h(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}
#[inline(always)]
fn i(x: u32, y: u32, z: u32) -> u32 {
    y ^ (x | !z)
}
/// `a = b + ((a + F(b,c,d) + X[k] + T[i]) <<< s)`.
#[inline(always)]
fn step(fun: u32, a: u32, b: u32, x: u32, t: u32, s: u32) -> u32 {
    a.wrapping_add(fun)
        .wrapping_add(x)
        .wrapping_add(t)
        .rotate_left(s)
        .wrapping_add(b)
}

/// Four steps of one round, the variables rotating as RFC 1321 3.4 writes
/// them; `side(n)` runs after step `n`.
macro_rules! four {
    ($side:ident, $w:ident, $fun:ident, $n:expr, $a:ident $b:ident $c:ident $d:ident,
     [$x0:expr, $x1:expr, $x2:expr, $x3:expr], [$t0:expr, $t1:expr, $t2:expr, $t3:expr],
     [$s0:expr, $s1:expr, $s2:expr, $s3:expr]) => {
        $a = step($fun($b, $c, $d), $a, $b, $w[$x0], $t0, $s0);
        $side($n);
        $d = step($fun($a, $b, $c), $d, $a, $w[$x1], $t1, $s1);
        $side($n + 1);
        $c = step($fun($d, $a, $b), $c, $d, $w[$x2], $t2, $s2);
        $side($n + 2);
        $b = step($fun($c, $d, $a), $b, $c, $w[$x3], $t3, $s3);
        $side($n + 3);
    };
}

/// The MD5 compression of one block (RFC 1321 3.4), calling `side(n)`
/// after step `n` (0 to 63): work independent of the hash that the
/// processor can do between its dependent steps.
#[inline(always)]
fn compress(state: &mut [u32; 4], w: &[u32; 16], mut side: impl FnMut(usize)) {
    let [mut a, mut b, mut c, mut d] = *state;
    const R1: [u32; 4] = [7, 12, 17, 22];
    const R2: [u32; 4] = [5, 9, 14, 20];
    const R3: [u32; 4] = [4, 11, 16, 23];
    const R4: [u32; 4] = [6, 10, 15, 21];
    let [p0, p1, p2, p3] = R1;
    four!(side, w, f, 0, a b c d, [0, 1, 2, 3],
        [0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee], [p0, p1, p2, p3]);
    four!(side, w, f, 4, a b c d, [4, 5, 6, 7],
        [0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501], [p0, p1, p2, p3]);
    four!(side, w, f, 8, a b c d, [8, 9, 10, 11],
        [0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be], [p0, p1, p2, p3]);
    four!(side, w, f, 12, a b c d, [12, 13, 14, 15],
        [0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821], [p0, p1, p2, p3]);
    let [p0, p1, p2, p3] = R2;
    four!(side, w, g, 16, a b c d, [1, 6, 11, 0],
        [0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa], [p0, p1, p2, p3]);
    four!(side, w, g, 20, a b c d, [5, 10, 15, 4],
        [0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8], [p0, p1, p2, p3]);
    four!(side, w, g, 24, a b c d, [9, 14, 3, 8],
        [0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed], [p0, p1, p2, p3]);
    four!(side, w, g, 28, a b c d, [13, 2, 7, 12],
        [0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a], [p0, p1, p2, p3]);
    let [p0, p1, p2, p3] = R3;
    four!(side, w, h, 32, a b c d, [5, 8, 11, 14],
        [0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c], [p0, p1, p2, p3]);
    four!(side, w, h, 36, a b c d, [1, 4, 7, 10],
        [0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70], [p0, p1, p2, p3]);
    four!(side, w, h, 40, a b c d, [13, 0, 3, 6],
        [0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05], [p0, p1, p2, p3]);
    four!(side, w, h, 44, a b c d, [9, 12, 15, 2],
        [0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665], [p0, p1, p2, p3]);
    let [p0, p1, p2, p3] = R4;
    four!(side, w, i, 48, a b c d, [0, 7, 14, 5],
        [0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039], [p0, p1, p2, p3]);
    four!(side, w, i, 52, a b c d, [12, 3, 10, 1],
        [0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1], [p0, p1, p2, p3]);
    four!(side, w, i, 56, a b c d, [8, 15, 6, 13],
        [0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1], [p0, p1, p2, p3]);
    four!(side, w, i, 60, a b c d, [4, 11, 2, 9],
        [0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391], [p0, p1, p2, p3]);
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ntlm::crypto::{hmac_md5, md5};

    fn md5_ours(data: &[u8]) -> [u8; 16] {
        let mut m = Md5::new();
        m.update(data);
        m.finish()
    }

    #[test]
    fn md5_rfc1321_suite() {
        // RFC 1321 A.5
        for (input, hex) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            let got: String = md5_ours(input.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, hex, "{input:?}");
        }
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| ((i * 131 + 7) % 251) as u8).collect()
    }

    #[test]
    fn md5_matches_md5_crate_at_every_length_and_split() {
        for len in (0..300).chain([1000, 4096, 65_537]) {
            let data = sample(len);
            assert_eq!(md5_ours(&data), md5(&[&data]), "length {len}");
            let mut m = Md5::new();
            let (a, b) = data.split_at(len / 3);
            m.update(a);
            m.update(b);
            assert_eq!(m.finish(), md5(&[&data]), "length {len} in two parts");
        }
    }

    /// The fused pass gives what RC4 then HMAC-MD5 (or the other way round)
    /// give separately, and leaves the RC4 state where they leave it.
    #[test]
    fn fused_equals_separate_passes() {
        let key = *b"0123456789abcdef";
        let seq = 7u32.to_le_bytes();
        for len in (0..400).chain([4095, 4096, 4097, 100_000]) {
            for order in [Order::HashThenRc4, Order::Rc4ThenHash] {
                let plain = sample(len);
                let mut fused_rc4 = Rc4::new(b"rc4 key 16 bytes");
                let mut sep_rc4 = Rc4::new(b"rc4 key 16 bytes");
                let mut fused = plain.clone();
                let mut sep = plain.clone();
                let mac = hmac_md5_rc4(&key, &seq, &mut fused, &mut fused_rc4, order);
                let expected = match order {
                    Order::HashThenRc4 => {
                        let m = hmac_md5(&key, &[&seq, &sep]);
                        sep_rc4.apply_keystream(&mut sep);
                        m
                    }
                    Order::Rc4ThenHash => {
                        sep_rc4.apply_keystream(&mut sep);
                        hmac_md5(&key, &[&seq, &sep])
                    }
                };
                assert_eq!(mac, expected, "length {len} {order:?}");
                assert_eq!(fused, sep, "length {len} {order:?}");
                let (mut a, mut b) = ([0u8; 33], [0u8; 33]);
                fused_rc4.apply_keystream(&mut a);
                sep_rc4.apply_keystream(&mut b);
                assert_eq!(a, b, "RC4 state after length {len} {order:?}");
            }
        }
    }
}
