//! `ReleaseVersion` parsing and classification: never panics, prints back exactly, orders
//! consistently with itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_release::ReleaseVersion;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(v) = s.parse::<ReleaseVersion>() else {
        return;
    };
    assert_eq!(v.to_string(), s);
    assert_eq!(v.cmp(&v), std::cmp::Ordering::Equal);
    let _ = (
        v.family(),
        v.timestamp(),
        v.stream_name(),
        v.sequence(),
        v.candidate(),
    );
    let _ = v.major_minor().to_string();
    let _ = v.without_build();
});
