//! `ImageRef` and `Digest` parsing: never panics, and what parses prints back to something that
//! parses to the same reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_oci::{Digest, ImageRef};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = s.parse::<ImageRef>() {
        let printed = r.to_string();
        let again: ImageRef = printed
            .parse()
            .unwrap_or_else(|e| panic!("{s:?} printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(again, r, "{s:?} printed as {printed:?}");
        let _ = r.manifest_ref();
    }
    if let Ok(d) = s.parse::<Digest>() {
        assert_eq!(d.to_string(), s);
    }
});
