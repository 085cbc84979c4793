//! The client's local time, for showing a deserialized DateTime as
//! PowerShell does: a `<DT>` written with an offset
//! (`2026-12-07T12:43:49.12+00:00`, [MS-PSRP] 2.2.5.1.4, a Local DateTime
//! on the host) is read back with `XmlDateTimeSerializationMode.RoundtripKind`,
//! which converts it to the reader's local time; a UTC one (`Z`) or one
//! without a zone keeps its clock time.
//!
//! The local zone comes, as the C library takes it, from `TZ` (a path, a
//! name under `/usr/share/zoneinfo`, or a POSIX `STDoffset` without
//! daylight saving, such as `XYZ-5:30`; empty is UTC), else from
//! `/etc/localtime`, read as TZif (RFC 8536): its transitions and their
//! offsets. Not read (the host's clock time is kept): a POSIX TZ rule with
//! daylight saving and no zone file. After a file's last transition the
//! last offset holds (distributions' "fat" files list them to 2037).
//! No crate in the tree gives the local offset without `unsafe` (the
//! client forbids it), hence this small reader.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A zone file larger than this is not a zone file (bounded memory).
const MAX_TZIF: u64 = 1 << 20;

/// A time zone: the offsets from UTC (seconds east) over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Transition instants (seconds since 1970 UTC), ascending, each with
    /// the offset from then on.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition (always, without any).
    initial: i32,
}

impl Zone {
    /// A zone at a fixed offset, `seconds` east of UTC.
    pub fn fixed(seconds: i32) -> Zone {
        Zone {
            transitions: Vec::new(),
            initial: seconds,
        }
    }

    /// The client's local zone (read once); None when it cannot be told.
    pub fn local() -> Option<&'static Zone> {
        static LOCAL: OnceLock<Option<Zone>> = OnceLock::new();
        LOCAL.get_or_init(load).as_ref()
    }

    /// The offset (seconds east of UTC) at `utc` (seconds since 1970).
    pub fn offset_at(&self, utc: i64) -> i32 {
        match self.transitions.partition_point(|(t, _)| *t <= utc) {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }

    /// Reads a TZif file (RFC 8536, versions 1 to 4; the 64-bit data of
    /// version 2 on); None when it is not one or is cut short.
    pub fn from_tzif(data: &[u8]) -> Option<Zone> {
        let (base, size) = match *data.get(4)? {
            0 => (0, 4),
            b'2'..=b'9' => {
                let c = counts(data, 0)?;
                let v1 = 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
                (v1, 8)
            }
            _ => return None,
        };
        let [_, _, _, times, types, _] = counts(data, base)?;
        let times_at = base + 44;
        let index_at = times_at + times * size;
        let types_at = index_at + times;
        if types == 0 || data.len() < types_at + types * 6 {
            return None;
        }
        let offset = |k: usize| -> Option<i32> {
            if k >= types {
                return None;
            }
            let at = types_at + k * 6;
            Some(i32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
        };
        let mut transitions = Vec::with_capacity(times);
        for j in 0..times {
            let at = times_at + j * size;
            let bytes = data.get(at..at + size)?;
            let t = if size == 8 {
                i64::from_be_bytes(bytes.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(bytes.try_into().ok()?))
            };
            transitions.push((t, offset(usize::from(*data.get(index_at + j)?))?));
        }
        // RFC 8536 3.2: before the first transition, the first type.
        Some(Zone {
            transitions,
            initial: offset(0)?,
        })
    }

    /// A POSIX TZ value without daylight saving: `STDoffset` (`UTC0`,
    /// `EST5`, `<+0530>-5:30`), the offset west of UTC as POSIX writes it.
    pub fn from_posix(text: &str) -> Option<Zone> {
        let rest = if let Some(quoted) = text.strip_prefix('<') {
            quoted.split_once('>')?.1
        } else {
            let name = text.len()
                - text
                    .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                    .len();
            (name >= 3).then(|| &text[name..])?
        };
        let (west, rest) = match rest.as_bytes().first()? {
            b'-' => (-1, &rest[1..]),
            b'+' => (1, &rest[1..]),
            _ => (1, rest),
        };
        let mut seconds = 0;
        for (i, part) in rest.split(':').enumerate() {
            let n: i32 = part
                .parse()
                .ok()
                .filter(|_| part.len() <= 2 && !part.is_empty())?;
            let (Some(max), Some(unit)) = ([24, 59, 59].get(i), [3600, 60, 1].get(i)) else {
                return None;
            };
            if n > *max {
                return None;
            }
            seconds += n * unit;
        }
        Some(Zone::fixed(-west * seconds))
    }
}

/// The six counts of the TZif header at `at`: isut, isstd, leap, time,
/// type, char.
fn counts(data: &[u8], at: usize) -> Option<[usize; 6]> {
    if data.get(at..at + 4)? != b"TZif" {
        return None;
    }
    let mut out = [0; 6];
    for (i, n) in out.iter_mut().enumerate() {
        let o = at + 20 + i * 4;
        *n = u32::from_be_bytes(data.get(o..o + 4)?.try_into().ok()?) as usize;
    }
    Some(out)
}

fn read_tzif(path: &Path) -> Option<Zone> {
    let mut data = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_TZIF)
        .read_to_end(&mut data)
        .ok()?;
    Zone::from_tzif(&data)
}

/// The local zone as the C library finds it (see the module docs).
fn load() -> Option<Zone> {
    let Some(tz) = std::env::var_os("TZ") else {
        return read_tzif(Path::new("/etc/localtime"));
    };
    let tz = tz.to_str()?;
    let name = tz.strip_prefix(':').unwrap_or(tz);
    if name.is_empty() {
        return Some(Zone::fixed(0));
    }
    let path = if name.starts_with('/') {
        Some(PathBuf::from(name))
    } else if name.split('/').any(|c| c == "..") {
        None
    } else {
        Some(Path::new("/usr/share/zoneinfo").join(name))
    };
    path.and_then(|p| read_tzif(&p))
        .or_else(|| Zone::from_posix(name))
}

/// The offset (seconds east of UTC) a `<DT>` text was written with:
/// `±hh:mm` after the seconds and their fraction; None for `Z` or none.
pub(crate) fn written_offset(text: &str) -> Option<i32> {
    let tail = text.trim().get(19..)?;
    let tail = tail.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = tail[1..].split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 TZif file: `transitions` (instant, type), `types` offsets.
    fn tzif(transitions: &[(i64, u8)], types: &[i32]) -> Vec<u8> {
        let header = |times: usize| {
            let mut h = b"TZif2".to_vec();
            h.extend([0; 15]);
            for n in [0, 0, 0, times, types.len(), 4] {
                h.extend((n as u32).to_be_bytes());
            }
            h
        };
        let block = |wide: bool| {
            let mut b = header(transitions.len());
            for (t, _) in transitions {
                if wide {
                    b.extend(t.to_be_bytes());
                } else {
                    b.extend((*t as i32).to_be_bytes());
                }
            }
            b.extend(transitions.iter().map(|(_, k)| *k));
            for off in types {
                b.extend(off.to_be_bytes());
                b.extend([0, 0]);
            }
            b.extend(b"UTC\0");
            b
        };
        let mut data = block(false);
        data.extend(block(true));
        data.extend(b"\nCET-1CEST,M3.5.0,M10.5.0/3\n");
        data
    }

    #[test]
    fn a_zone_file_gives_the_offset_at_each_instant() {
        // Europe/Berlin's 2026: CEST from 29 March 01:00 UTC, CET from 25 October 01:00 UTC.
        let data = tzif(&[(1_774_746_000, 1), (1_792_890_000, 0)], &[3600, 7200]);
        let zone = Zone::from_tzif(&data).unwrap();
        assert_eq!(zone.offset_at(0), 3600);
        assert_eq!(zone.offset_at(1_774_745_999), 3600);
        assert_eq!(zone.offset_at(1_774_746_000), 7200);
        assert_eq!(zone.offset_at(1_792_890_000), 3600);
        // The machine's own file, when it has one, reads.
        if let Ok(own) = std::fs::read("/etc/localtime") {
            assert!(Zone::from_tzif(&own).is_some());
        }
    }

    #[test]
    fn a_bad_zone_file_is_refused_without_panicking() {
        let data = tzif(&[(1_774_746_000, 1)], &[3600, 7200]);
        for cut in 0..data.len() - 40 {
            // Cut anywhere before the footer: refused, or read in full.
            let _ = Zone::from_tzif(&data[..cut]);
        }
        assert_eq!(Zone::from_tzif(b"TZif"), None);
        assert_eq!(Zone::from_tzif(b"not a zone file at all, no"), None);
        // A transition naming a type that is not there.
        let bad = tzif(&[(0, 5)], &[3600]);
        assert_eq!(Zone::from_tzif(&bad), None);
    }

    #[test]
    fn posix_values_without_daylight_saving_are_fixed_offsets() {
        assert_eq!(Zone::from_posix("UTC0"), Some(Zone::fixed(0)));
        assert_eq!(Zone::from_posix("EST5"), Some(Zone::fixed(-5 * 3600)));
        assert_eq!(Zone::from_posix("XYZ-5:30"), Some(Zone::fixed(19800)));
        assert_eq!(Zone::from_posix("<+0530>-5:30"), Some(Zone::fixed(19800)));
        // Daylight saving rules are not read.
        assert_eq!(Zone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3"), None);
        assert_eq!(Zone::from_posix("Europe/Nowhere"), None);
        assert_eq!(Zone::from_posix("X5"), None);
    }

    #[test]
    fn the_written_offset_is_read_after_the_seconds() {
        assert_eq!(written_offset("2026-12-07T12:43:49.1234567+00:00"), Some(0));
        assert_eq!(
            written_offset("2008-04-11T10:42:32.2731993-07:00"),
            Some(-25200)
        );
        assert_eq!(written_offset("2026-12-07T12:43:49+05:30"), Some(19800));
        assert_eq!(written_offset("2026-12-07T12:43:49Z"), None);
        assert_eq!(written_offset("2026-12-07T12:43:49.5"), None);
        assert_eq!(written_offset("2026-12-07"), None);
        assert_eq!(written_offset("2026-12-07T12:43:49+99:00"), None);
    }
}
