//! Property tests: every OS version prints back exactly as parsed, and ordering follows the
//! components.

use chrono::NaiveDate;
use okd_coreos::{
    BaseImageVersion, CosaVersion, FcosBuild, FcosVersion, OkdMachineOsVersion, OsVersion,
};
use proptest::prelude::*;

fn date() -> impl Strategy<Value = NaiveDate> {
    (2000i32..2100, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("valid date"))
}

fn fcos() -> impl Strategy<Value = FcosVersion> {
    let build = prop_oneof![
        (0u32..100, 0u32..50)
            .prop_map(|(stream, iteration)| FcosBuild::Release { stream, iteration }),
        (0u32..100, 0u32..50).prop_map(|(stream, n)| FcosBuild::Dev { stream, n }),
        (0u32..50).prop_map(|n| FcosBuild::Local { n }),
        (0u32..100).prop_map(|stream| FcosBuild::Truncated { stream }),
    ];
    (10u32..100, date(), build).prop_map(|(major, date, build)| FcosVersion { major, date, build })
}

fn cosa() -> impl Strategy<Value = CosaVersion> {
    (
        prop_oneof![Just(9u32), 40u32..50, 410u32..420],
        proptest::option::of(prop_oneof![0u32..10, 80u32..100]),
        date(),
        0u32..24,
        0u32..60,
        0u32..5,
    )
        .prop_map(|(prefix_major, prefix_minor, d, h, m, build)| CosaVersion {
            prefix_major,
            prefix_minor,
            timestamp: d.and_hms_opt(h, m, 0).expect("valid time"),
            build,
        })
}

fn base_image() -> impl Strategy<Value = BaseImageVersion> {
    (8u32..12, 0u32..10, date(), 0u32..10, any::<bool>()).prop_map(
        |(major, minor, date, build, dev)| BaseImageVersion {
            major,
            minor,
            date,
            build,
            dev,
        },
    )
}

fn okd_machine_os() -> impl Strategy<Value = OkdMachineOsVersion> {
    (400u32..520, 30u32..50, 0u32..5).prop_map(|(openshift, fedora, patch)| OkdMachineOsVersion {
        openshift,
        fedora,
        patch,
    })
}

fn any_version() -> impl Strategy<Value = OsVersion> {
    prop_oneof![
        fcos().prop_map(OsVersion::Fcos),
        cosa().prop_map(OsVersion::Cosa),
        base_image().prop_map(OsVersion::BaseImage),
        okd_machine_os().prop_map(OsVersion::OkdMachineOs),
    ]
}

proptest! {
    #[test]
    fn round_trip(v in any_version()) {
        let text = v.to_string();
        let back: OsVersion = text.parse().map_err(|e: okd_coreos::Error| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn fcos_order_follows_major_then_date(a in fcos(), b in fcos()) {
        if (a.major, a.date) != (b.major, b.date) {
            prop_assert_eq!(a.cmp(&b), (a.major, a.date).cmp(&(b.major, b.date)));
        }
    }

    #[test]
    fn base_image_order_follows_components(a in base_image(), b in base_image()) {
        let key = |v: &BaseImageVersion| (v.major, v.minor, v.date, v.build, !v.dev);
        prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
    }

    #[test]
    fn cosa_order_within_a_prefix_follows_time(a in cosa(), b in cosa()) {
        if (a.prefix_major, a.prefix_minor) == (b.prefix_major, b.prefix_minor) {
            prop_assert_eq!(a.cmp(&b), (a.timestamp, a.build).cmp(&(b.timestamp, b.build)));
        }
    }

    #[test]
    fn order_is_consistent_with_equality(a in any_version(), b in any_version()) {
        prop_assert_eq!(a.cmp(&b) == std::cmp::Ordering::Equal, a == b);
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
        let _ = s.parse::<OsVersion>();
    }

    #[test]
    fn near_miss_text_errors_name_the_input(s in "[0-9.a-z-]{1,30}") {
        if let Err(e) = s.parse::<OsVersion>() {
            let quoted = format!("{:?}", s);
            prop_assert!(e.to_string().contains(&quoted), "{}", e);
        }
    }
}
