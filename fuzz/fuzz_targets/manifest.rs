//! Raw manifests and their typed views: never panics, keeps the exact bytes, and every
//! reference it yields is a validated digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_oci::{Digest, RawManifest, media_type};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let types = media_type::ALL_MANIFESTS;
    let kind = types[usize::from(selector) % types.len()];
    for m in [
        RawManifest::new(kind, bytes.to_vec()),
        RawManifest::sniff(bytes.to_vec()),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(m.bytes().as_ref(), bytes);
        assert_eq!(m.digest(), &Digest::sha256_of(bytes));
        let view = m.view().expect("a manifest that was accepted has a view");
        assert_eq!(view.is_index(), m.is_index());
        if let Ok(refs) = m.references() {
            for r in refs {
                assert_eq!(r.digest.to_string().parse::<Digest>().ok(), Some(r.digest));
            }
        }
        let _ = m.descriptor();
    }
});
