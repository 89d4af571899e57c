//! `release-metadata` (Cincinnati metadata): never panics, and what parses is written the way
//! `oc` writes it, which parses back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_release::ReleaseMetadata;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = ReleaseMetadata::parse(data) else {
        return;
    };
    let _ = m.validate();
    let _ = (
        m.string_metadata(),
        m.url(),
        m.is_multi_arch(),
        m.channels(),
    );
    let json = m.to_json();
    let again = ReleaseMetadata::parse(json.as_bytes())
        .unwrap_or_else(|e| panic!("written release-metadata does not parse: {e}\n{json}"));
    assert_eq!(again.to_json(), json);
});
