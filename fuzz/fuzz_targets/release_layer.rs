//! Release-layer extraction: `Release::load` over a MemoryStore whose release image's last
//! layer is the fuzz input — as given (gzip and tar parsing), gzip-compressed (tar parsing
//! behind the gzip path) or plain. It must never panic, and whatever loads must list only
//! files inside `release-manifests/`.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use okd_oci::{Digest, ManifestRef, MemoryStore, RawManifest, Store, StoreExt, media_type};
use okd_release::{ImageColumns, LoadOptions, Release};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

const CONFIG: &[u8] = br#"{"created":"2025-06-01T10:00:00Z","os":"linux","architecture":"amd64","config":{"Labels":{"io.openshift.release":"4.19.0-okd-scos.1"}},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let layer: Vec<u8> = match mode % 3 {
        0 => rest.to_vec(),
        1 => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(rest).expect("in-memory gzip");
            gz.finish().expect("in-memory gzip")
        }
        _ => {
            // A plain tar layer whose first entry is release-manifests/, so the fuzzer starts
            // inside the directory the loader reads.
            let mut tar = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_path("release-manifests/").expect("valid path");
            h.set_mode(0o755);
            h.set_size(0);
            h.set_cksum();
            tar.append(&h, &[][..]).expect("in-memory tar");
            let mut v = tar.into_inner().expect("in-memory tar");
            v.extend_from_slice(rest);
            v
        }
    };
    runtime().block_on(load(layer));
});

async fn load(layer: Vec<u8>) {
    let store = MemoryStore::new();
    let repo = "okd/release";
    let config_digest = Digest::sha256_of(CONFIG);
    let layer_digest = Digest::sha256_of(&layer);
    store
        .put_blob(repo, &config_digest, Bytes::from_static(CONFIG))
        .await
        .expect("config blob");
    let layer_size = layer.len();
    store
        .put_blob(repo, &layer_digest, Bytes::from(layer))
        .await
        .expect("layer blob");
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{}"}},"layers":[{{"mediaType":"{}","size":{},"digest":"{}"}}]}}"#,
        media_type::OCI_MANIFEST,
        media_type::OCI_CONFIG,
        CONFIG.len(),
        config_digest,
        media_type::OCI_LAYER_GZIP,
        layer_size,
        layer_digest,
    );
    let manifest =
        RawManifest::new(media_type::OCI_MANIFEST, manifest.into_bytes()).expect("manifest");
    store
        .write_manifest(repo, &manifest, Some("latest"))
        .await
        .expect("manifest write");
    let options = LoadOptions {
        max_unpacked_size: 64 << 20,
        max_file_size: 4 << 20,
        ..LoadOptions::default()
    };
    let reference = ManifestRef::Tag("latest".to_string());
    if let Ok(release) = Release::load_with(&store, repo, &reference, &options).await {
        for f in release.manifests.iter().chain(&release.other_files) {
            assert!(
                !f.name.split('/').any(|p| p == ".." || p.is_empty()),
                "unsafe name {:?}",
                f.name
            );
        }
        for columns in [
            ImageColumns::Digest,
            ImageColumns::PullSpec,
            ImageColumns::Commit,
        ] {
            let _ = release.describe(columns);
        }
    }
}
