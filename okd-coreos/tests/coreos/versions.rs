//! OS version tables: real versions of every scheme parse into their scheme and print back,
//! components, ordering across and within schemes, and errors naming the input.

use chrono::NaiveDate;
use okd_coreos::{Error, FcosStream, OsVersion};

fn v(s: &str) -> OsVersion {
    s.parse()
        .unwrap_or_else(|e| panic!("{s} should parse: {e}"))
}

#[test]
fn real_versions_parse_into_their_scheme_and_print_back() {
    let table = [
        ("44.20260707.3.1", "fcos"),
        ("37.20230211.20.0", "fcos"),
        ("37.20230211.20", "fcos"),
        ("40.20240425.dev.1", "fcos"),
        ("40.20240425.20.dev3", "fcos"),
        ("31.20200108.3.0", "fcos"),
        ("412.36.0", "okd-machine-os"),
        ("416.39.0", "okd-machine-os"),
        ("410.84.202201251203-0", "cosa"),
        ("413.9.202302130811-0", "cosa"),
        ("47.34.202106291017-0", "cosa"),
        ("9.202410090804-0", "cosa"),
        ("9.4.202410090804-0", "cosa"),
        ("9.0.20250510-0", "base-image"),
        ("10.0.20250628-0", "base-image"),
        ("9.8.20260428-0", "base-image"),
        ("9.6.20250701-0.dev", "base-image"),
    ];
    for (s, scheme) in table {
        let parsed = v(s);
        assert_eq!(parsed.scheme(), scheme, "{s}");
        assert_eq!(parsed.to_string(), s);
    }
}

#[test]
fn fcos_components() {
    let OsVersion::Fcos(f) = v("44.20260707.3.1") else {
        panic!("not fcos")
    };
    assert_eq!(f.major, 44);
    assert_eq!(f.date, NaiveDate::from_ymd_opt(2026, 7, 7).unwrap());
    assert_eq!(f.stream(), Some(FcosStream::Stable));
    assert_eq!(f.iteration(), Some(1));
    let OsVersion::Fcos(d) = v("37.20230211.20") else {
        panic!("not fcos")
    };
    assert_eq!(d.stream(), Some(FcosStream::TestingDevel));
    assert_eq!(d.iteration(), None);
    let OsVersion::Fcos(l) = v("40.20240425.dev.1") else {
        panic!("not fcos")
    };
    assert_eq!(l.stream_number(), None);
    assert!(l.is_dev());
}

#[test]
fn cosa_components() {
    let OsVersion::Cosa(c) = v("410.84.202201251203-0") else {
        panic!("not cosa")
    };
    assert_eq!(c.openshift_version(), Some((4, 10)));
    assert_eq!(c.el_version(), Some((8, Some(4))));
    let OsVersion::Cosa(c) = v("414.9.202310110807-0") else {
        panic!("not cosa")
    };
    assert_eq!(c.openshift_version(), Some((4, 14)));
    assert_eq!(c.el_version(), Some((9, None)));
    let OsVersion::Cosa(c) = v("47.34.202106291017-0") else {
        panic!("not cosa")
    };
    assert_eq!(c.openshift_version(), Some((4, 7)));
    assert_eq!(c.el_version(), None);
    let OsVersion::Cosa(c) = v("9.4.202410090804-0") else {
        panic!("not cosa")
    };
    assert_eq!(c.openshift_version(), None);
    assert_eq!(c.el_version(), Some((9, Some(4))));
    assert_eq!(
        c.timestamp,
        NaiveDate::from_ymd_opt(2024, 10, 9)
            .unwrap()
            .and_hms_opt(8, 4, 0)
            .unwrap()
    );
}

#[test]
fn ordering_table() {
    // Each row: a < b.
    let table = [
        // FCOS: by Fedora major, then date, then stream number, then iteration.
        ("43.20260707.3.1", "44.20250101.3.0"),
        ("44.20260623.3.9", "44.20260707.3.0"),
        ("44.20260707.2.5", "44.20260707.3.0"),
        ("44.20260707.3.1", "44.20260707.3.2"),
        ("44.20260707.3.9", "44.20260707.3.10"),
        ("44.20260707.20.dev1", "44.20260707.20.1"),
        ("44.20260707.20.1", "44.20260707.20.dev2"),
        ("44.20260707.20", "44.20260707.20.0"),
        ("44.20260707.dev.5", "44.20260707.1.0"),
        // Cosa: by prefix, then time, then build number.
        ("414.9.202310110807-0", "414.9.202310110807-1"),
        ("414.9.202310110807-1", "414.9.202310110808-0"),
        ("414.9.202312312359-0", "415.9.202301010000-0"),
        ("418.94.202501010000-0", "418.96.202401010000-0"),
        // Base image: by EL version, then date, then build, dev first.
        ("9.0.20250510-0", "9.0.20250510-1"),
        ("9.0.20250510-1", "9.0.20250511-0"),
        ("9.6.20250510-0.dev", "9.6.20250510-0"),
        ("9.6.20991231-0", "10.0.20250101-0"),
        ("9.6.20250510-0", "9.8.20240101-0"),
        // Across schemes: by scheme.
        ("44.20260707.3.1", "412.36.0"),
        ("416.39.0", "410.84.202201251203-0"),
        ("418.94.202501010000-0", "9.0.20250101-0"),
    ];
    for (a, b) in table {
        assert!(v(a) < v(b), "{a} < {b}");
        assert!(v(b) > v(a), "{b} > {a}");
        assert_ne!(v(a), v(b));
    }
}

#[test]
fn sorting_a_mixed_list() {
    let mut list: Vec<OsVersion> = [
        "9.0.20250510-0",
        "44.20260707.3.1",
        "414.9.202310110807-0",
        "43.20251201.3.0",
        "9.0.20250403-2",
    ]
    .map(v)
    .to_vec();
    list.sort();
    let sorted: Vec<String> = list.iter().map(ToString::to_string).collect();
    assert_eq!(
        sorted,
        [
            "43.20251201.3.0",
            "44.20260707.3.1",
            "414.9.202310110807-0",
            "9.0.20250403-2",
            "9.0.20250510-0"
        ]
    );
}

#[test]
fn bad_versions_are_named() {
    for bad in [
        "",
        "44",
        "44.2026070.3.1",
        "44.20261332.3.1",
        "44.20260707.x.1",
        "44.20260707.3.1.5",
        "044.20260707.3.1",
        "44.20260707.3.01",
        "44.20260707.3.devx",
        "414.9.20231011080-0",
        "414.9.202310110807-",
        "414.9.202310110807-a",
        "414.9.9.202310110807-0",
        "9.0.20250510-0.rc",
        "9.0.2025051-0",
        "9.20250510-0",
        "1.2.3",
        "latest",
    ] {
        let e = bad.parse::<OsVersion>().unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOsVersion { input, .. } if input == bad),
            "{bad}: {e}"
        );
        assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
    }
}

#[test]
fn component_versions_are_semantic_versions() {
    for (given, listed) in [
        ("44.20260707.3.1", "44.20260707.3"),
        ("37.20230211.20", "37.20230211.20"),
        ("413.9.202302130811-0", "413.9.202302130811-0"),
        ("9.0.20250510-0", "9.0.20250510-0"),
        ("9.6.20250701-0.dev", "9.6.20250701-0.dev"),
        ("416.39.0", "416.39.0"),
    ] {
        let c = v(given).to_component_version().to_string();
        assert_eq!(c, listed);
        assert!(semver::Version::parse(&c).is_ok(), "{c} is not semver");
    }
}

#[test]
fn serde_is_the_string_form() {
    let x = v("9.0.20250510-0");
    let json = serde_json::to_string(&x).unwrap();
    assert_eq!(json, "\"9.0.20250510-0\"");
    let back: OsVersion = serde_json::from_str(&json).unwrap();
    assert_eq!(back, x);
    assert!(serde_json::from_str::<OsVersion>("\"nope\"").is_err());
}
