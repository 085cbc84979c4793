//! Numbers and dates as Windows PowerShell 5.1 (.NET Framework, en-US
//! culture) prints them: `Double.ToString()` is 15 significant digits
//! (`G15`), `Single.ToString()` 7 (`G7`), a DateTime `M/d/yyyy h:mm:ss tt`.
//! The CLIXML forms ([MS-PSRP] 2.2.5.1.7 `<Db>`, 2.2.5.1.4 `<DT>`) carry
//! the full value; these are what the console shows of it.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use super::local_time::{written_offset, Zone};

/// `value.ToString()` of a .NET Framework Double: `G15`, so `10 / 3`
/// shows `3.33333333333333` and `1e20` shows `1E+20`.
pub fn double(value: f64) -> String {
    general(value, 15)
}

/// `value.ToString()` of a .NET Framework Single: `G7`.
pub fn single(value: f32) -> String {
    general(f64::from(value), 7)
}

/// .NET's general format with `precision` significant digits: fixed-point
/// when the exponent is above -5 and below the precision, else
/// `d.dddE+xx` (at least two exponent digits); no trailing zeros.
fn general(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value == 0.0 {
        return "0".into(); // .NET Framework prints -0.0 as 0 too
    }
    // Rust rounds the decimal expansion exactly, as .NET's G formats do.
    let sci = format!("{:.*e}", precision - 1, value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let mut out = String::with_capacity(24);
    if value < 0.0 {
        out.push('-');
    }
    if exp > -5 && exp < precision as i32 {
        if exp >= 0 {
            let whole = exp as usize + 1;
            if digits.len() <= whole {
                out.push_str(digits);
                push_zeros(&mut out, whole - digits.len());
            } else {
                out.push_str(&digits[..whole]);
                out.push('.');
                out.push_str(&digits[whole..]);
            }
        } else {
            out.push_str("0.");
            push_zeros(&mut out, (-exp - 1) as usize);
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('E');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    }
    out
}

fn push_zeros(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('0');
    }
}

/// The parts of a CLIXML DateTime (`2008-04-11T10:42:32.2731993-07:00`,
/// XML Schema dateTime): the clock time as the host wrote it, its offset
/// left aside, as PowerShell shows a deserialized DateTime in the host's
/// local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateParts {
    /// The year.
    pub year: u32,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
    /// 0 to 59.
    pub second: u32,
}

impl DateParts {
    /// Reads `yyyy-mm-ddThh:mm:ss[.fffffff][Z|±hh:mm]` as PowerShell shows
    /// a deserialized DateTime: a time written with an offset in the
    /// client's local time ([`Zone::local`]), any other as written; None
    /// for anything else.
    pub fn parse(text: &str) -> Option<DateParts> {
        DateParts::parse_in(text, Zone::local())
    }

    /// [`parse`](Self::parse) with `zone` as the local one (None: every
    /// time kept as written).
    pub fn parse_in(text: &str, zone: Option<&Zone>) -> Option<DateParts> {
        let clock = DateParts::parse_clock(text)?;
        match (written_offset(text), zone) {
            (Some(written), Some(zone)) => Some(clock.moved(written, zone).unwrap_or(clock)),
            _ => Some(clock),
        }
    }

    /// The clock time written at `written` seconds east of UTC, in `zone`;
    /// None out of DateTime's years (1 to 9999).
    fn moved(&self, written: i32, zone: &Zone) -> Option<DateParts> {
        let days = days_from_civil(self.year, self.month, self.day) - 719_468;
        let clock = i64::from(self.hour * 3600 + self.minute * 60 + self.second);
        let utc = days * 86_400 + clock - i64::from(written);
        let local = utc + i64::from(zone.offset_at(utc));
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400) as u32;
        (1..=9999).contains(&year).then_some(DateParts {
            year: year as u32,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        })
    }

    /// The clock time as written, its offset left aside.
    fn parse_clock(text: &str) -> Option<DateParts> {
        let b = text.trim().as_bytes();
        let num = |from: usize, len: usize| -> Option<u32> {
            let s = b.get(from..from + len)?;
            s.iter()
                .all(u8::is_ascii_digit)
                .then(|| s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let parts = DateParts {
            year: num(0, 4)?,
            month: num(5, 2)?,
            day: num(8, 2)?,
            hour: num(11, 2)?,
            minute: num(14, 2)?,
            second: num(17, 2)?,
        };
        let valid = (1..=12).contains(&parts.month)
            && (1..=31).contains(&parts.day)
            && parts.hour < 24
            && parts.minute < 60
            && parts.second < 61;
        valid.then_some(parts)
    }

    /// `ToString("d")` in en-US: `M/d/yyyy`.
    pub fn short_date(&self) -> String {
        format!("{}/{}/{}", self.month, self.day, self.year)
    }

    /// `ToString("t")` in en-US: `h:mm AM`.
    pub fn short_time(&self) -> String {
        format!("{}:{:02} {}", self.hour12(), self.minute, self.am_pm())
    }

    /// `ToString()` in en-US: `M/d/yyyy h:mm:ss AM`.
    pub fn general(&self) -> String {
        format!(
            "{}/{}/{} {}:{:02}:{:02} {}",
            self.month,
            self.day,
            self.year,
            self.hour12(),
            self.minute,
            self.second,
            self.am_pm()
        )
    }

    /// `ToString("D")` in en-US: `Monday, December 7, 2026`.
    pub fn long_date(&self) -> String {
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!(
            "{}, {} {}, {}",
            DAYS[self.day_of_week() as usize],
            MONTHS[(self.month as usize - 1) % 12],
            self.day,
            self.year
        )
    }

    /// `ToString("T")` in en-US: `h:mm:ss AM`.
    pub fn long_time(&self) -> String {
        format!(
            "{}:{:02}:{:02} {}",
            self.hour12(),
            self.minute,
            self.second,
            self.am_pm()
        )
    }

    /// 0 for Sunday to 6 for Saturday (the proleptic Gregorian calendar,
    /// as .NET's DateTime).
    pub fn day_of_week(&self) -> u32 {
        // Days from 0000-03-01; that day was a Wednesday.
        let days = days_from_civil(self.year, self.month, self.day);
        (days + 3).rem_euclid(7) as u32
    }

    fn hour12(&self) -> u32 {
        match self.hour % 12 {
            0 => 12,
            h => h,
        }
    }

    fn am_pm(&self) -> &'static str {
        if self.hour < 12 {
            "AM"
        } else {
            "PM"
        }
    }
}

/// Days since 0000-03-01 of a Gregorian date (years counted from March,
/// so the leap day ends a year).
pub(crate) fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let (y, m) = if month <= 2 {
        (i64::from(year) - 1, i64::from(month) + 9)
    } else {
        (i64::from(year), i64::from(month) - 3)
    };
    // y may be -1 for year 0: floor division keeps the count right.
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * m + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe
}

/// The Gregorian date `days` after 1970-01-01 (the inverse of
/// [`days_from_civil`], shifted to 1970).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A CLIXML DateTime as the console shows it (`12/7/2026 1:05:09 PM`); the
/// text as received when it is not a dateTime.
pub fn date_time(text: &str) -> String {
    DateParts::parse(text).map_or_else(|| text.to_string(), |d| d.general())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_have_fifteen_significant_digits() {
        assert_eq!(double(10.0 / 3.0), "3.33333333333333");
        assert_eq!(double(2.0 / 3.0), "0.666666666666667");
        assert_eq!(double(0.1 + 0.2), "0.3");
        assert_eq!(double(3.5), "3.5");
        assert_eq!(double(6.0), "6");
        assert_eq!(double(-2.5), "-2.5");
        assert_eq!(double(1e15), "1E+15");
        assert_eq!(double(123456789012345.0), "123456789012345");
        assert_eq!(double(1e-5), "1E-05");
        assert_eq!(double(0.0001), "0.0001");
        assert_eq!(double(1.5e-7), "1.5E-07");
        assert_eq!(double(f64::MAX), "1.79769313486232E+308");
        assert_eq!(double(-0.0), "0");
        assert_eq!(double(f64::NAN), "NaN");
        assert_eq!(double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(single(0.1), "0.1");
        assert_eq!(single(1.0 / 3.0), "0.3333333");
    }

    #[test]
    fn dates_print_in_the_en_us_form() {
        let d = DateParts::parse_in("2008-04-11T10:42:32.2731993-07:00", None).unwrap();
        assert_eq!(d.general(), "4/11/2008 10:42:32 AM");
        assert_eq!(d.short_date(), "4/11/2008");
        assert_eq!(d.short_time(), "10:42 AM");
        assert_eq!(date_time("2026-12-07T00:05:09Z"), "12/7/2026 12:05:09 AM");
        assert_eq!(date_time("2026-12-07T13:05:09"), "12/7/2026 1:05:09 PM");
        assert_eq!(date_time("not a date"), "not a date");
        assert_eq!(date_time("2026-13-07T13:05:09"), "2026-13-07T13:05:09");
        assert_eq!(DateParts::parse("2026-12-07T1"), None);
    }

    #[test]
    fn a_time_written_with_an_offset_is_shown_in_the_local_zone() {
        let india = Zone::fixed(19_800);
        let at = |text: &str, zone: &Zone| DateParts::parse_in(text, Some(zone)).unwrap();
        // Written by a host at -07:00: 17:42:32 UTC, 23:12:32 in India.
        let d = at("2008-04-11T10:42:32.2731993-07:00", &india);
        assert_eq!(d.general(), "4/11/2008 11:12:32 PM");
        // Across midnight, a month's and a leap year's end.
        let d = at("2024-02-28T20:00:00+00:00", &india);
        assert_eq!(d.general(), "2/29/2024 1:30:00 AM");
        let d = at("2026-12-31T23:59:59+00:00", &Zone::fixed(1));
        assert_eq!(d.general(), "1/1/2027 12:00:00 AM");
        let d = at("2026-03-01T01:00:00+02:00", &Zone::fixed(0));
        assert_eq!(d.general(), "2/28/2026 11:00:00 PM");
        // UTC (`Z`) and zoneless times keep their clock, as .NET's
        // RoundtripKind reading does.
        assert_eq!(
            at("2026-12-07T12:43:49Z", &india).general(),
            "12/7/2026 12:43:49 PM"
        );
        assert_eq!(
            at("2026-12-07T12:43:49", &india).general(),
            "12/7/2026 12:43:49 PM"
        );
        // Out of DateTime's years: the clock as written.
        let d = at("0001-01-01T00:30:00+01:00", &Zone::fixed(0));
        assert_eq!(d.general(), "1/1/1 12:30:00 AM");
        for days in [-719_162, -1, 0, 1, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as u32, m, d) - 719_468, days);
        }
    }

    #[test]
    fn long_dates_name_the_weekday_and_month() {
        let d = DateParts::parse("2026-12-07T12:43:49").unwrap();
        assert_eq!(d.long_date(), "Monday, December 7, 2026");
        assert_eq!(d.long_time(), "12:43:49 PM");
        let d = DateParts::parse("2000-02-29T00:00:05").unwrap();
        assert_eq!(d.long_date(), "Tuesday, February 29, 2000");
        assert_eq!(d.long_time(), "12:00:05 AM");
        let d = DateParts::parse("1970-01-01T23:59:59").unwrap();
        assert_eq!(d.long_date(), "Thursday, January 1, 1970");
        let d = DateParts::parse("0001-01-01T00:00:00").unwrap();
        assert_eq!(d.long_date(), "Monday, January 1, 1");
        let d = DateParts::parse("9999-12-31T00:00:00").unwrap();
        assert_eq!(d.long_date(), "Friday, December 31, 9999");
    }
}
