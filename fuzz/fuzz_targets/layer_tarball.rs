//! Prebuilt layer tarballs (`NewLayer::from_tarball`, behind CoreOS `TarballSource`): never
//! panics, and a tarball that is accepted is measured consistently (its digest and size are those
//! of the file).
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use okd_oci::Digest;
use okd_oci::append::NewLayer;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&gzip, tar)) = data.split_first() else {
        return;
    };
    let bytes = if gzip % 2 == 1 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(tar).expect("in-memory gzip");
        gz.finish().expect("in-memory gzip")
    } else {
        tar.to_vec()
    };
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(&bytes).expect("writing the temp file");
    if let Ok(layer) = runtime().block_on(NewLayer::from_tarball(file.path())) {
        assert_eq!(layer.info().digest, Digest::sha256_of(&bytes));
        assert_eq!(layer.info().size, bytes.len() as u64);
    }
});
