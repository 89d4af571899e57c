//! RFC 3339 timestamps that print back exactly as they were read.
//!
//! CoreOS documents carry `last-modified` as text (`2026-07-21T14:07:12Z`). A [`Timestamp`] is
//! checked when parsed and keeps its original text, so a document round-trips byte for byte
//! whatever offset notation it used.
//!
//! ```
//! use okd_coreos::Timestamp;
//!
//! let t: Timestamp = "2026-07-21T14:07:12Z".parse()?;
//! assert_eq!(t.as_str(), "2026-07-21T14:07:12Z");
//! assert_eq!(t.to_utc().timestamp(), 1784642832);
//! assert!("yesterday".parse::<Timestamp>().is_err());
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A validated RFC 3339 timestamp keeping its original text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    time: DateTime<FixedOffset>,
}

impl Timestamp {
    /// A timestamp for `time`, written as `YYYY-MM-DDTHH:MM:SSZ` as the CoreOS tools write it.
    pub fn from_utc(time: DateTime<Utc>) -> Timestamp {
        Timestamp {
            text: time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            time: time.fixed_offset(),
        }
    }

    /// The text as read.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant, in its original offset.
    pub fn time(&self) -> DateTime<FixedOffset> {
        self.time
    }

    /// The instant in UTC.
    pub fn to_utc(&self) -> DateTime<Utc> {
        self.time.with_timezone(&Utc)
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    /// Orders by instant; equal instants written differently order by text.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Timestamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let time = DateTime::parse_from_rfc3339(s).map_err(|e| Error::InvalidTimestamp {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Timestamp {
            text: s.to_string(),
            time,
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
