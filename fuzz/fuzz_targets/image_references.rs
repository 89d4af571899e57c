//! `image-references` (JSON or YAML ImageStream): never panics, and what parses is written the
//! way `oc` writes it, which parses back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_release::ImageReferences;

fuzz_target!(|data: &[u8]| {
    let Ok(refs) = ImageReferences::parse(data) else {
        return;
    };
    let json = refs.to_json();
    let again = ImageReferences::parse(json.as_bytes())
        .unwrap_or_else(|e| panic!("written image-references does not parse: {e}\n{json}"));
    assert_eq!(again.to_json(), json);
    for tag in refs.tags() {
        let _ = (tag.pullspec(), tag.commit(), tag.source_location());
    }
});
