//! CoreOS stream metadata: never panics, and what parses is written back to a document that
//! parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_coreos::StreamMetadata;

fuzz_target!(|data: &[u8]| {
    let Ok(stream) = StreamMetadata::from_slice(data) else {
        return;
    };
    let written = stream.to_json_pretty();
    let again = StreamMetadata::from_slice(&written).unwrap_or_else(|e| {
        panic!(
            "written stream metadata does not parse: {e}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, stream);
    for arch in stream.architecture_names() {
        let _ = stream.pxe(arch);
        let _ = stream.disk(arch, "metal", "raw.xz");
        let _ = stream.aws_ami(arch, "us-east-1");
    }
});
