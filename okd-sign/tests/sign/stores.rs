//! The store layout on disk and over HTTP, and the size cap on both.

use std::path::PathBuf;

use okd_oci::Digest;
use okd_sign::{
    Claim, Error, Expectation, HttpStore, MAX_SIGNATURE_SIZE, SignatureDir, SignatureSource,
    sign_claim,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{IDENTITY, TestKey, manifest};

#[test]
fn signatures_take_the_next_free_number() {
    let dir = tempfile::tempdir().unwrap();
    let store = SignatureDir::new(dir.path());
    let digest = Digest::sha256_of(b"release");
    let first = store.add(&digest, b"one").unwrap();
    let second = store.add(&digest, b"two").unwrap();
    let base = dir.path().join(format!("sha256={}", digest.hex()));
    assert_eq!(first, base.join("signature-1"));
    assert_eq!(second, base.join("signature-2"));
    assert_eq!(store.count(&digest), 2);
    let read = store.read(&digest).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[1].1, b"two");
}

#[test]
fn a_key_file_readable_by_others_is_noticed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    std::fs::write(&path, b"x").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(okd_sign::keys::exposed_mode(&path), Some(0o644));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(okd_sign::keys::exposed_mode(&path), None);
}

/// What the loopback server answers for one path.
enum Answer {
    File(PathBuf),
    /// A `Content-Length` header of this many bytes, then as much of the body as is read.
    Huge(u64),
    /// A chunked body of this many bytes, no length header.
    Chunked(u64),
}

/// A bounded HTTP/1.1 server on loopback: `answer` maps a request path to a response; a
/// missing file is a 404.
async fn serve(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let _ = respond(&mut sock, answer(&path)).await;
            });
        }
    });
    format!("http://{addr}/signatures")
}

async fn respond(sock: &mut tokio::net::TcpStream, answer: Answer) -> std::io::Result<()> {
    let zeros = vec![0u8; 64 * 1024];
    match answer {
        Answer::File(path) => match std::fs::read(&path) {
            Ok(body) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                sock.write_all(head.as_bytes()).await?;
                sock.write_all(&body).await
            }
            Err(_) => {
                sock.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await
            }
        },
        Answer::Huge(len) => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
            sock.write_all(head.as_bytes()).await?;
            let mut left = len;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                sock.write_all(&zeros[..n]).await?;
                left -= n as u64;
            }
            Ok(())
        }
        Answer::Chunked(len) => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let mut left = len;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                sock.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                sock.write_all(&zeros[..n]).await?;
                sock.write_all(b"\r\n").await?;
                left -= n as u64;
            }
            sock.write_all(b"0\r\n\r\n").await
        }
    }
}

#[tokio::test]
async fn an_http_store_is_read_up_to_the_first_404() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let dir = tempfile::tempdir().unwrap();
    let store = SignatureDir::new(dir.path());
    store.add(&digest, b"not a signature").unwrap();
    let sig = sign_claim(&Claim::new(&digest, IDENTITY), &key.signing_key()).unwrap();
    store.add(&digest, &sig).unwrap();
    let root = dir.path().to_owned();
    let url =
        serve(move |path| Answer::File(root.join(path.trim_start_matches("/signatures/")))).await;
    let http = HttpStore::new(&url).unwrap();
    let read = http.read(&digest).await.unwrap();
    assert_eq!(read.len(), 2, "signature-3 answers 404 and ends the list");
    assert_eq!(
        read[0].0,
        format!("{url}/sha256={}/signature-1", digest.hex())
    );
    let verified = SignatureSource::Http(http)
        .verify(
            &key.keyring(),
            &Expectation {
                digest: &digest,
                identity: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(verified.signer, key.fingerprint);
}

#[tokio::test]
async fn an_http_signature_of_100_mib_is_refused_by_its_length() {
    let (_, digest) = manifest();
    let url = serve(|_| Answer::Huge(100 * 1024 * 1024)).await;
    let err = HttpStore::new(&url)
        .unwrap()
        .read(&digest)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { size, .. } if size == 100 * 1024 * 1024),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_http_signature_without_a_length_is_cut_at_the_cap() {
    let (_, digest) = manifest();
    let url = serve(|_| Answer::Chunked(100 * 1024 * 1024)).await;
    let err = HttpStore::new(&url)
        .unwrap()
        .read(&digest)
        .await
        .unwrap_err();
    // Reading stopped within one chunk past the cap, far short of the 100 MiB offered.
    assert!(
        matches!(err, Error::TooLarge { size, .. } if size > MAX_SIGNATURE_SIZE && size <= MAX_SIGNATURE_SIZE + 64 * 1024),
        "{err:?}"
    );
}
