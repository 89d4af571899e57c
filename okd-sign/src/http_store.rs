//! Reading signatures from an HTTP(S) signature store, as the cluster-version-operator does.

use okd_oci::Digest;

use crate::error::Error;
use crate::store::{MAX_SIGNATURE_SIZE, MAX_SIGNATURES, signature_path};

/// A signature store served over HTTP(S): `GET <url>/sha256=<hex>/signature-<n>` for n = 1, 2, …
/// until the first 404.
#[derive(Debug, Clone)]
pub struct HttpStore {
    base: String,
    client: reqwest::Client,
}

impl HttpStore {
    /// The store at `url` (`http://` or `https://`).
    pub fn new(url: &str) -> Result<Self, Error> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Store {
                url: url.to_owned(),
                reason: "a signature store URL starts with http:// or https://".to_owned(),
            });
        }
        okd_oci::registry::install_tls_provider();
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Store {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(HttpStore {
            base: url.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// The URL of signature `n` of `digest`.
    pub fn url(&self, digest: &Digest, n: u32) -> String {
        format!("{}/{}", self.base, signature_path(digest, n))
    }

    /// Fetches the signatures of `digest` in order, each with its URL. A signature over
    /// [`MAX_SIGNATURE_SIZE`] is refused without reading it whole.
    pub async fn read(&self, digest: &Digest) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let mut out = Vec::new();
        for n in 1..=MAX_SIGNATURES {
            let url = self.url(digest, n);
            match self.fetch(&url).await? {
                Some(bytes) => out.push((url, bytes)),
                None => break,
            }
        }
        Ok(out)
    }

    async fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, Error> {
        let failed = |reason: String| Error::Store {
            url: url.to_owned(),
            reason,
        };
        let mut resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let too_large = |size| Error::TooLarge {
            location: url.to_owned(),
            size,
            limit: MAX_SIGNATURE_SIZE,
        };
        if let Some(len) = resp.content_length()
            && len > MAX_SIGNATURE_SIZE
        {
            return Err(too_large(len));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| failed(e.to_string()))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MAX_SIGNATURE_SIZE {
                return Err(too_large(bytes.len() as u64));
            }
        }
        Ok(Some(bytes))
    }
}

impl HttpStore {
    /// The store's base URL, without a trailing `/`.
    pub fn url_base(&self) -> &str {
        &self.base
    }
}
