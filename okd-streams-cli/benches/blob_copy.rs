//! The pieces `benches/blob_rss.sh` runs under `/usr/bin/time -v` to measure the peak memory of
//! copying a large blob between a registry and a layout:
//!
//! ```text
//! blob_copy make-layout DIR BYTES         an image with one BYTES-byte layer, as DIR:bench/blob:big
//! blob_copy copy SRC DST [--insecure HOST] copy_image from SRC to DST (docker:// or oci: refs)
//! blob_copy free-port                     print a free loopback port
//! blob_copy wait-port HOST:PORT           wait until something listens there
//! ```
//!
//! Run without arguments (as `cargo bench` does), it only says how to run the measurement.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use okd_oci::copy::copy_image;
use okd_oci::registry::RegistryOptions;
use okd_oci::{
    Access, ByteStream, Digest, Hasher, ImageRef, LayoutStore, RawManifest, Store, StoreExt,
    StoreMap, media_type,
};
use support::Noise;

const CHUNK: usize = 1 << 20;
const SEED: u64 = 7;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["make-layout", dir, bytes] => runtime.block_on(make_layout(dir, bytes)),
        ["copy", src, dst] => runtime.block_on(copy(src, dst, None)),
        ["copy", src, dst, "--insecure", host] => runtime.block_on(copy(src, dst, Some(host))),
        ["free-port"] => free_port(),
        ["wait-port", addr] => wait_port(addr),
        _ => {
            println!("blob_copy: run benches/blob_rss.sh to measure peak RSS of blob copies");
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("blob_copy: {e}");
        std::process::exit(1);
    }
}

/// `size` bytes of seeded noise, in chunks, generated as they are consumed.
fn noise_stream(size: u64) -> ByteStream {
    let state = (Noise::new(SEED), size);
    Box::pin(futures::stream::unfold(
        state,
        |(mut noise, left)| async move {
            if left == 0 {
                return None;
            }
            let n = left.min(CHUNK as u64) as usize;
            let mut buf = vec![0u8; n];
            noise.fill(&mut buf);
            Some((Ok(bytes::Bytes::from(buf)), (noise, left - n as u64)))
        },
    ))
}

async fn make_layout(dir: &str, bytes: &str) -> Result<()> {
    let size: u64 = bytes.parse()?;
    let store = LayoutStore::open_or_create(dir).await?;
    // First pass: the digest; second pass: the bytes, verified again as they are written.
    let mut hasher = Hasher::new(okd_oci::DigestAlgorithm::Sha256);
    let mut stream = noise_stream(size);
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk?);
    }
    let layer = hasher.finish();
    let repo = "bench/blob";
    store
        .write_blob(repo, &layer, size, noise_stream(size))
        .await?;
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer}"]}}}}"#
    );
    let config_digest = Digest::sha256_of(config.as_bytes());
    store
        .put_blob(repo, &config_digest, config.clone().into_bytes().into())
        .await?;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{layer}","size":{size}}}]}}"#,
        media_type::OCI_MANIFEST,
        media_type::OCI_CONFIG,
        config.len(),
        media_type::OCI_LAYER_TAR,
    );
    let manifest = RawManifest::new(media_type::OCI_MANIFEST, manifest.into_bytes())?;
    store.write_manifest(repo, &manifest, Some("big")).await?;
    println!("{} {layer} {size}", manifest.digest());
    Ok(())
}

async fn copy(src: &str, dst: &str, insecure: Option<&str>) -> Result<()> {
    let mut options = RegistryOptions::default();
    if let Some(host) = insecure {
        options = options.insecure_registry(host);
    }
    let stores = StoreMap::new(options);
    let (src, dst): (ImageRef, ImageRef) = (src.parse()?, dst.parse()?);
    let from = stores.resolve(&src, Access::Read).await?;
    let to = stores.resolve(&dst, Access::Write).await?;
    let reference = from.manifest_ref()?;
    let start = Instant::now();
    let (manifest, stats) = copy_image(
        from.store.as_ref(),
        &from.repository,
        &reference,
        to.store.as_ref(),
        &to.repository,
        dst.tag(),
    )
    .await?;
    let elapsed = start.elapsed().as_secs_f64();
    // The destination must hold every blob, whole.
    for blob in manifest.references()? {
        let size = to.store.blob_size(&to.repository, &blob.digest).await?;
        if size != Some(blob.size) {
            return Err(
                format!("{dst}: blob {} is {size:?}, not {}", blob.digest, blob.size).into(),
            );
        }
    }
    println!(
        "{} copied {} bytes in {} blobs ({} skipped) in {elapsed:.1} s ({:.0} MB/s)",
        manifest.digest(),
        stats.bytes_copied,
        stats.blobs_copied,
        stats.blobs_skipped,
        stats.bytes_copied as f64 / elapsed / 1e6
    );
    Ok(())
}

fn free_port() -> Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}

fn wait_port(addr: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("nothing listens on {addr} after 30 s").into())
}
