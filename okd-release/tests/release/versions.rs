//! Property tests of release version parsing: every family round-trips through `Display`, and
//! ordering follows time and sequence numbers.

use chrono::{DateTime, Utc};
use okd_release::{Family, ReleaseVersion};
use proptest::prelude::*;

fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_102_444_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default())
}

proptest! {
    #[test]
    fn dated_round_trip(
        major in 0u64..10, minor in 0u64..40, patch in 0u64..20,
        stream in prop::sample::select(vec!["nightly", "ci", "okd", "okd-scos", "nightly-arm64", "custom-build"]),
        at in timestamp(),
    ) {
        let name = format!("{major}.{minor}.{patch}-0.{stream}");
        let version = ReleaseVersion::dated(&name, at).unwrap();
        let text = version.to_string();
        let parsed: ReleaseVersion = text.parse().unwrap();
        prop_assert_eq!(parsed.to_string(), text);
        prop_assert_eq!(parsed.timestamp(), Some(at));
        prop_assert_eq!(parsed.stream_name(), Some(name));
        prop_assert_eq!(parsed.stream(), Some(stream));
    }

    #[test]
    fn dated_order_follows_time(a in timestamp(), b in timestamp()) {
        let va = ReleaseVersion::dated("4.19.0-0.nightly", a).unwrap();
        let vb = ReleaseVersion::dated("4.19.0-0.nightly", b).unwrap();
        prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
    }

    #[test]
    fn okd_scos_round_trip(major in 4u64..8, minor in 0u64..40, n in 0u64..1000, ec in any::<bool>()) {
        let text = if ec {
            format!("{major}.{minor}.0-okd-scos.ec.{n}")
        } else {
            format!("{major}.{minor}.0-okd-scos.{n}")
        };
        let parsed: ReleaseVersion = text.parse().unwrap();
        prop_assert_eq!(&parsed.to_string(), &text);
        prop_assert_eq!(parsed.family(), Family::OkdScos);
        prop_assert_eq!(parsed.sequence(), Some(n));
        prop_assert_eq!(parsed.candidate().is_some(), ec);
    }

    #[test]
    fn okd_scos_order_follows_sequence(a in 0u64..10_000, b in 0u64..10_000) {
        let va = ReleaseVersion::okd_scos(4, 19, 0, a);
        let vb = ReleaseVersion::okd_scos(4, 19, 0, b);
        prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
    }

    #[test]
    fn candidate_and_plain_round_trip(
        major in 0u64..100, minor in 0u64..100, patch in 0u64..100,
        kind in prop::sample::select(vec!["", "ec", "rc", "fc"]), n in 0u64..100,
    ) {
        let text = if kind.is_empty() {
            format!("{major}.{minor}.{patch}")
        } else {
            format!("{major}.{minor}.{patch}-{kind}.{n}")
        };
        let parsed: ReleaseVersion = text.parse().unwrap();
        prop_assert_eq!(&parsed.to_string(), &text);
        let expected = if kind.is_empty() { Family::Release } else { Family::Candidate };
        prop_assert_eq!(parsed.family(), expected);
    }

    #[test]
    fn any_semver_round_trips(s in r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(-[a-z][a-z0-9-]{0,8}(\.[a-z][a-z0-9-]{0,8}){0,2})?(\+[a-z0-9]{1,5})?") {
        let parsed: ReleaseVersion = s.parse().unwrap();
        prop_assert_eq!(parsed.to_string(), s);
    }
}
