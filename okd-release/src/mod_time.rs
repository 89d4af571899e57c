//! File modification times as Go's `archive/tar` reads and writes them.
//!
//! `oc adm release new` extracts each operator's `manifests/` to disk, keeping the time each
//! entry's layer gave it (a PAX `mtime` record carries nanoseconds), and writes them again with
//! Go's tar writer, which — with no format asked for — rounds every time to whole seconds
//! (`time.Time.Round(time.Second)`: the nearest second, a half rounding up, towards the future
//! also before 1970); the extraction has already set a time outside what a count of nanoseconds
//! since 1970 holds to 1970 itself ([`ModTime::as_extracted`]). The `newest` time given to the `release-manifests` directory and the two
//! release documents is the largest of those times *truncated* to seconds. A [`ModTime`] keeps
//! the nanoseconds so that both results come out as `oc`'s.
//!
//! ```
//! use okd_release::mod_time::ModTime;
//!
//! let t = ModTime::parse_pax("1700000000.5").unwrap();
//! assert_eq!(t.rounded_seconds(), 1_700_000_001);
//! assert_eq!(t.whole_seconds(), 1_700_000_000);
//! let before_1970 = ModTime::parse_pax("-1.5").unwrap();
//! assert_eq!(before_1970.rounded_seconds(), -1);
//! ```

use std::fmt;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A point in time as seconds since the Unix epoch and nanoseconds after them (`0..1e9`, as Go's
/// `time.Time` holds it: `-1.5` s is second `-2` plus half a second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ModTime {
    secs: i64,
    nanos: u32,
}

impl ModTime {
    /// A whole number of seconds since the epoch.
    pub fn from_secs(secs: i64) -> ModTime {
        ModTime { secs, nanos: 0 }
    }

    /// `secs` seconds and `nanos` nanoseconds, normalised as Go's `time.Unix` normalises them
    /// (a negative or overlarge `nanos` moves whole seconds into `secs`).
    pub fn new(secs: i64, nanos: i64) -> ModTime {
        let secs = secs.saturating_add(nanos.div_euclid(NANOS_PER_SECOND));
        let nanos = nanos.rem_euclid(NANOS_PER_SECOND) as u32;
        ModTime { secs, nanos }
    }

    /// Parses a PAX `mtime` record value as Go's tar reader does (`parsePAXTime`): decimal
    /// seconds, optionally a `.` and digits of which the first nine count (more are dropped, not
    /// rounded); a leading `-` applies to the fraction too. `None` for anything else.
    pub fn parse_pax(value: &str) -> Option<ModTime> {
        let (whole, fraction) = match value.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (value, None),
        };
        let secs = parse_go_int(whole)?;
        let Some(fraction) = fraction.filter(|f| !f.is_empty()) else {
            return Some(ModTime::from_secs(secs));
        };
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: String = fraction.chars().take(9).collect();
        while digits.len() < 9 {
            digits.push('0');
        }
        let nanos: i64 = digits.parse().ok()?;
        let nanos = if whole.starts_with('-') {
            -nanos
        } else {
            nanos
        };
        Some(ModTime::new(secs, nanos))
    }

    /// The time a file extracted by `oc` ends up with: the Docker archive code `oc` unpacks layers
    /// with (`pkg/system.Chtimes`) sets a time before the epoch, or after the last one a signed
    /// 64-bit count of nanoseconds holds (2262-04-11T23:47:16.854775807Z), to the epoch.
    pub fn as_extracted(self) -> ModTime {
        const MAX_SECS: i64 = i64::MAX / NANOS_PER_SECOND;
        const MAX_NANOS: u32 = (i64::MAX % NANOS_PER_SECOND) as u32;
        if self.secs < 0 || (self.secs, self.nanos) > (MAX_SECS, MAX_NANOS) {
            ModTime::default()
        } else {
            self
        }
    }

    /// Seconds since the epoch, rounded as Go's tar writer rounds a header's time.
    pub fn rounded_seconds(self) -> i64 {
        if 2 * i64::from(self.nanos) < NANOS_PER_SECOND {
            self.secs
        } else {
            self.secs.saturating_add(1)
        }
    }

    /// Seconds since the epoch, the fraction dropped (Go's `Truncate(time.Second)`).
    pub fn whole_seconds(self) -> i64 {
        self.secs
    }

    /// The nanoseconds after [`Self::whole_seconds`].
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }
}

impl From<i64> for ModTime {
    fn from(secs: i64) -> ModTime {
        ModTime::from_secs(secs)
    }
}

/// Go's `formatPAXTime`.
impl fmt::Display for ModTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return write!(f, "{}", self.secs);
        }
        let (sign, secs, nanos) = if self.secs < 0 {
            (
                "-",
                -(self.secs + 1),
                NANOS_PER_SECOND - i64::from(self.nanos),
            )
        } else {
            ("", self.secs, i64::from(self.nanos))
        };
        let text = format!("{sign}{secs}.{nanos:09}");
        f.write_str(text.trim_end_matches('0'))
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`: an optional sign, then decimal digits only.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_are_parsed_as_go_parses_them() {
        let t = |s: &str| ModTime::parse_pax(s).map(|t| (t.whole_seconds(), t.subsec_nanos()));
        assert_eq!(t("1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(t("1700000000."), Some((1_700_000_000, 0)));
        assert_eq!(t("1700000000.25"), Some((1_700_000_000, 250_000_000)));
        // Digits past the ninth are dropped, not rounded.
        assert_eq!(t("1.9999999999"), Some((1, 999_999_999)));
        assert_eq!(t("-1.5"), Some((-2, 500_000_000)));
        assert_eq!(t("-0.25"), Some((-1, 750_000_000)));
        assert_eq!(t("+3.5"), Some((3, 500_000_000)));
        for bad in [
            "",
            ".5",
            "1.5e3",
            "1.-5",
            "abc",
            "1 ",
            "--1",
            "99999999999999999999",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rounding_is_gos_round_to_the_second() {
        let r = |s: &str| ModTime::parse_pax(s).unwrap().rounded_seconds();
        assert_eq!(r("10.499999999"), 10);
        assert_eq!(r("10.5"), 11);
        assert_eq!(r("10.999"), 11);
        // Halves round up, towards the future, before the epoch too.
        assert_eq!(r("-1.5"), -1);
        assert_eq!(r("-1.6"), -2);
        assert_eq!(r("-0.5"), 0);
        assert_eq!(r("-0.4"), 0);
        assert_eq!(
            ModTime::new(i64::MAX, 999_999_999).rounded_seconds(),
            i64::MAX
        );
    }

    #[test]
    fn extraction_sets_times_outside_unix_nanoseconds_to_the_epoch() {
        let e = |s: &str| ModTime::parse_pax(s).unwrap().as_extracted();
        assert_eq!(e("-1"), ModTime::from_secs(0));
        assert_eq!(e("-0.5"), ModTime::from_secs(0));
        assert_eq!(e("0.5"), ModTime::new(0, 500_000_000));
        assert_eq!(
            e("9223372036.854775807"),
            ModTime::new(9_223_372_036, 854_775_807)
        );
        assert_eq!(e("9223372036.854775808"), ModTime::from_secs(0));
        // Year 2242 on is past the tar header's octal field but still a time on disk.
        assert_eq!(e("8589934592"), ModTime::from_secs(8_589_934_592));
    }

    #[test]
    fn displays_as_go_formats_pax_times() {
        let d = |s: &str| ModTime::parse_pax(s).unwrap().to_string();
        assert_eq!(d("5"), "5");
        assert_eq!(d("5.250"), "5.25");
        assert_eq!(d("-1.5"), "-1.5");
        assert_eq!(d("-0.000000001"), "-0.000000001");
    }
}
