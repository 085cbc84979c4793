//! Where `psrp` takes its randomness: RunspacePool and pipeline ids
//! ([MS-PSRP] 2.2.1 RPID and PID), the client's RSA-2048 exchange key
//! ([MS-PSRP] 3.1.4.3.1) and a server's AES session key. By default the
//! operating system's generator; a caller may inject another (a seeded one
//! makes tests and recordings deterministic) with
//! [`RunspacePool::with_random`](crate::pool::RunspacePool::with_random).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use rand::{CryptoRng, RngCore};
use uuid::Uuid;

/// A cryptographically secure random generator that can move between
/// threads; every `RngCore + CryptoRng + Send` type is one.
pub trait Random: RngCore + CryptoRng + Send {}

impl<T: RngCore + CryptoRng + Send> Random for T {}

impl std::fmt::Debug for dyn Random {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Random(..)")
    }
}

/// An owned random source, as a RunspacePool keeps it.
pub type RandomSource = Box<dyn Random>;

/// The operating system's generator (the default).
pub fn os() -> RandomSource {
    Box::new(rand::rngs::OsRng)
}

/// A generator seeded with `seed`: the same seed gives the same ids and
/// keys, run after run. For tests and recordings only: whoever knows the
/// seed can compute the session key exchange's RSA key.
pub fn seeded(seed: u64) -> RandomSource {
    use rand::SeedableRng;
    Box::new(rand::rngs::StdRng::seed_from_u64(seed))
}

/// A version-4 UUID from `random`.
pub fn uuid(random: &mut dyn Random) -> Uuid {
    let mut bytes = [0u8; 16];
    random.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_seeded_source_gives_the_same_ids() {
        let mut a = rand::rngs::StdRng::seed_from_u64(7);
        let mut b = rand::rngs::StdRng::seed_from_u64(7);
        let (x, y) = (uuid(&mut a), uuid(&mut b));
        assert_eq!(x, y);
        assert_eq!(x.get_version_num(), 4);
        assert_ne!(uuid(&mut a), x);
    }

    #[test]
    fn seeded_sources_repeat_and_differ_by_seed() {
        let (mut a, mut b, mut c) = (seeded(7), seeded(7), seeded(8));
        let x = uuid(&mut *a);
        assert_eq!(x, uuid(&mut *b));
        assert_ne!(x, uuid(&mut *c));
    }
}
