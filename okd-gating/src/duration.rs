//! Go duration strings (`"72h"`, `"1h30m"`, `"1.5s"`), as the release-controller reads `expires`
//! and periodic `interval` with Go's `time.ParseDuration`.
//!
//! ```
//! use okd_gating::GoDuration;
//! let d: GoDuration = "1h30m".parse().unwrap();
//! assert_eq!(d.as_std().as_secs(), 5400);
//! assert_eq!(d.to_string(), "1h30m0s");
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A non-negative duration written the way Go writes one.
///
/// Parsing accepts Go's syntax: a sequence of decimal numbers with optional fraction and a unit
/// (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), an optional leading `+`, and the bare `0`.
/// Negative durations, which Go accepts, are refused: nothing in a release config means anything
/// by a negative time span. Display follows Go's `Duration.String` (`72h0m0s`, `1.5s`, `300ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

impl GoDuration {
    /// The duration as a std duration.
    pub fn as_std(self) -> Duration {
        self.0
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        GoDuration(d)
    }
}

/// Why a duration string does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

/// Parses a Go duration; with `allow_days`, the unit `d` (24 h) is accepted too (simulation
/// models use it for horizons; Go itself has no day unit).
pub(crate) fn parse_duration(input: &str, allow_days: bool) -> Result<Duration, DurationError> {
    let err = |m: &str| DurationError(format!("invalid duration {input:?}: {m}"));
    let mut s = input;
    if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    } else if s.starts_with('-') {
        return Err(err("negative durations are not accepted"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(err("empty"));
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, rest) = s.split_at(int_len);
        let (frac_part, rest) = match rest.strip_prefix('.') {
            Some(r) => {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                r.split_at(n)
            }
            None => ("", rest),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err("expected a number"));
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let (unit, rest) = rest.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" if allow_days => 86_400 * 1_000_000_000,
            "" => return Err(err("missing unit")),
            other => return Err(err(&format!("unknown unit {other:?}"))),
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| err("number out of range"))?
        };
        let mut value = int
            .checked_mul(nanos_per_unit)
            .ok_or_else(|| err("out of range"))?;
        // Fractions are scaled digit by digit so that "1.5h" is exact.
        let mut scale = nanos_per_unit;
        for digit in frac_part.bytes().take(30) {
            scale /= 10;
            value += u128::from(digit - b'0') * scale;
        }
        total = total
            .checked_add(value)
            .ok_or_else(|| err("out of range"))?;
        s = rest;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| err("out of range"))?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

impl FromStr for GoDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s, false).map(GoDuration)
    }
}

fn write_fraction(f: &mut fmt::Formatter<'_>, whole: u128, frac: u128, digits: u32) -> fmt::Result {
    write!(f, "{whole}")?;
    if frac > 0 {
        let s = format!("{frac:0width$}", width = digits as usize);
        write!(f, ".{}", s.trim_end_matches('0'))?;
    }
    Ok(())
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.as_nanos();
        if n == 0 {
            return f.write_str("0s");
        }
        if n < 1_000 {
            return write!(f, "{n}ns");
        }
        if n < 1_000_000 {
            write_fraction(f, n / 1_000, n % 1_000, 3)?;
            return f.write_str("\u{b5}s");
        }
        if n < 1_000_000_000 {
            write_fraction(f, n / 1_000_000, n % 1_000_000, 6)?;
            return f.write_str("ms");
        }
        let secs = n / 1_000_000_000;
        let frac = n % 1_000_000_000;
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h{m}m")?;
        } else if m > 0 {
            write!(f, "{m}m")?;
        }
        write_fraction(f, s, frac, 9)?;
        f.write_str("s")
    }
}

impl serde::Serialize for GoDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A duration in a simulation model: Go syntax plus the `d` (day) unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ModelDuration(pub Duration);

impl serde::Serialize for ModelDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&GoDuration(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for ModelDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s, true)
            .map(ModelDuration)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Duration, DurationError> {
        parse_duration(s, false)
    }

    #[test]
    fn parses_go_syntax() {
        assert_eq!(p("72h").unwrap(), Duration::from_secs(72 * 3600));
        assert_eq!(p("336h").unwrap(), Duration::from_secs(336 * 3600));
        assert_eq!(p("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(p("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(p(".5s").unwrap(), Duration::from_millis(500));
        assert_eq!(p("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(p("2us").unwrap(), Duration::from_micros(2));
        assert_eq!(p("2\u{b5}s").unwrap(), Duration::from_micros(2));
        assert_eq!(p("+5m").unwrap(), Duration::from_secs(300));
        assert_eq!(p("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn refuses_what_go_refuses_and_negatives() {
        for bad in ["", "1", "h", "1x", "1d", "-1h", ".", "1h-1m"] {
            assert!(p(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(parse_duration("365d", true).unwrap().as_secs(), 365 * 86400);
    }

    #[test]
    fn displays_like_go() {
        let d = |s: &str| GoDuration(p(s).unwrap()).to_string();
        assert_eq!(d("72h"), "72h0m0s");
        assert_eq!(d("90s"), "1m30s");
        assert_eq!(d("1.5s"), "1.5s");
        assert_eq!(d("300ms"), "300ms");
        assert_eq!(d("0"), "0s");
        assert_eq!(d("1500us"), "1.5ms");
    }
}
