//! Manifests and tags: read with a size limit and digest check, pushed as exact bytes (by
//! tag when tagged, else by digest), listed page by page.

use bytes::Bytes;
use oci_client::{Reference, RegistryOperation};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LINK};

use super::RegistryStore;
use super::auth::Scope;
use super::response::{Failure, find_digest, oci_error, read_limited};
use crate::store::StoreCounters;
use crate::{Digest, Error, MAX_MANIFEST_SIZE, ManifestRef, RawManifest, is_valid_tag, media_type};

/// Tags asked for per page of `GET /v2/<repo>/tags/list`.
const TAGS_PAGE: usize = 1000;

fn reference_path(reference: &ManifestRef) -> String {
    match reference {
        ManifestRef::Tag(t) => t.clone(),
        ManifestRef::Digest(d) => d.to_string(),
    }
}

fn accept() -> String {
    media_type::ALL_MANIFESTS.join(", ")
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

impl RegistryStore {
    pub(super) async fn get_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        let op = format!("GET manifest {repo}{reference}");
        let manifest = self
            .retrying(&op, || async {
                let _slot = self.permit().await?;
                let r = self
                    .request_manifest(&op, Method::GET, repo, reference)
                    .await?;
                match r.status().as_u16() {
                    200 => {}
                    404 => return Err(self.manifest_not_found(repo, reference)),
                    _ => return Err(Failure::read(r).await.into_error(&self.host, &op)),
                }
                let what = format!("{}/{repo}{reference}", self.host);
                let too_large = |size: u64| Error::ManifestTooLarge {
                    what: what.clone(),
                    size,
                    limit: MAX_MANIFEST_SIZE as u64,
                };
                // Refused before the body is read.
                if let Some(len) = header(&r, CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok())
                    && len > MAX_MANIFEST_SIZE as u64
                {
                    return Err(too_large(len));
                }
                let content_type = header(&r, CONTENT_TYPE.as_str())
                    .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
                let announced = header(&r, "docker-content-digest").map(str::to_string);
                let body = read_limited(r, MAX_MANIFEST_SIZE, &self.host, &op)
                    .await
                    .map_err(|e| match e {
                        Error::TooLarge { size, .. } => too_large(size),
                        e => e,
                    })?;
                self.raw_manifest(repo, reference, content_type, announced, body)
            })
            .await?;
        StoreCounters::bump(&self.counters.manifests_read);
        Ok(manifest)
    }

    /// Sends `GET` or `HEAD` for `/v2/<repo>/manifests/<reference>`, accepting every manifest
    /// type okd-streams reads.
    async fn request_manifest(
        &self,
        op: &str,
        method: Method,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<reqwest::Response, Error> {
        let path = format!("manifests/{}", reference_path(reference));
        self.send(op, repo, &[Scope::pull(repo)], |http, base| {
            http.request(method.clone(), Self::url(base, repo, &path))
                .header(ACCEPT, accept())
        })
        .await
    }

    fn raw_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
        content_type: Option<String>,
        announced: Option<String>,
        body: Bytes,
    ) -> Result<RawManifest, Error> {
        let what = format!("manifest {}/{repo}{reference}", self.host);
        let rename = |e: Error| match e {
            Error::DigestMismatch {
                expected, actual, ..
            } => Error::DigestMismatch {
                what: what.clone(),
                expected,
                actual,
            },
            e => e,
        };
        let manifest = match content_type.filter(|t| media_type::is_manifest(t)) {
            Some(t) => match reference {
                ManifestRef::Digest(d) => RawManifest::verified(&t, body, d).map_err(rename)?,
                ManifestRef::Tag(_) => RawManifest::new(&t, body)?,
            },
            // Some registries answer `application/json`; the document's mediaType decides.
            None => {
                let m = RawManifest::sniff(body)?;
                if let ManifestRef::Digest(d) = reference {
                    RawManifest::verified(m.media_type(), m.bytes().clone(), d).map_err(rename)?
                } else {
                    m
                }
            }
        };
        if let Some(Ok(announced)) = announced.as_deref().map(str::parse::<Digest>)
            && announced.algorithm() == manifest.digest().algorithm()
            && &announced != manifest.digest()
        {
            return Err(Error::DigestMismatch {
                what,
                expected: announced,
                actual: manifest.digest().clone(),
            });
        }
        Ok(manifest)
    }

    pub(super) fn manifest_not_found(&self, repo: &str, reference: &ManifestRef) -> Error {
        Error::ManifestNotFound {
            location: self.host.clone(),
            repo: repo.to_string(),
            reference: reference.to_string(),
        }
    }

    pub(super) async fn head_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error> {
        let op = format!("HEAD manifest {repo}{reference}");
        let answer = self
            .retrying(&op, || async {
                let _slot = self.permit().await?;
                let r = self
                    .request_manifest(&op, Method::HEAD, repo, reference)
                    .await?;
                match r.status().as_u16() {
                    200 => Ok(Some(
                        header(&r, "docker-content-digest").map(str::to_string),
                    )),
                    404 => Ok(None),
                    _ => Err(Failure::read(r).await.into_error(&self.host, &op)),
                }
            })
            .await?;
        match answer {
            None => Ok(None),
            Some(Some(d)) => match d.parse::<Digest>() {
                Ok(d) => Ok(Some(d)),
                Err(_) => Ok(Some(
                    self.get_manifest(repo, reference).await?.digest().clone(),
                )),
            },
            // No digest header: the body is the only way to know.
            Some(None) => Ok(Some(
                self.get_manifest(repo, reference).await?.digest().clone(),
            )),
        }
    }

    pub(super) async fn put_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        if let Some(t) = tag
            && !is_valid_tag(t)
        {
            return Err(Error::InvalidReference {
                input: format!("{}/{repo}:{t}", self.host),
                reason: format!("invalid tag {t:?}"),
            });
        }
        let content_type = HeaderValue::from_str(manifest.media_type()).map_err(|_| {
            Error::UnsupportedMediaType {
                what: manifest.digest().to_string(),
                media_type: manifest.media_type().to_string(),
            }
        })?;
        // One PUT: a registry stores a manifest pushed by tag under its digest too, and writes
        // the tag only once the manifest and everything it names are accepted, so the tag never
        // points at content the registry does not have. containers/image pushes the same way;
        // a PUT by digest first would be a second request for every tagged image.
        let (reference, shown) = match tag {
            Some(t) => (
                Reference::with_tag(self.endpoint().to_string(), repo.to_string(), t.to_string()),
                format!(":{t}"),
            ),
            None => {
                let digest = manifest.digest().to_string();
                let shown = format!("@{digest}");
                let by_digest =
                    Reference::with_digest(self.endpoint().to_string(), repo.to_string(), digest);
                (by_digest, shown)
            }
        };
        self.push_manifest_to(repo, manifest, reference, &shown, &content_type)
            .await?;
        StoreCounters::bump(&self.counters.manifests_written);
        Ok(())
    }

    async fn push_manifest_to(
        &self,
        repo: &str,
        manifest: &RawManifest,
        reference: Reference,
        shown: &str,
        content_type: &HeaderValue,
    ) -> Result<(), Error> {
        let op = format!("PUT manifest {repo}{shown}");
        self.retrying(&op, || async {
            let _slot = self.permit().await?;
            let conn = self.connection().await?;
            if conn.client_certificate {
                // oci-client cannot present a client certificate; the reqwest client does.
                let target = reference.tag().or(reference.digest()).unwrap_or_default();
                return self
                    .put_manifest_directly(repo, manifest, target, &op, content_type)
                    .await;
            }
            self.authorize_oci(conn, repo, RegistryOperation::Push)
                .await?;
            let pushed = conn
                .oci
                .push_manifest_raw(&reference, manifest.bytes().clone(), content_type.clone())
                .await;
            match pushed {
                Ok(_) => Ok(()),
                Err(e) => {
                    let failure = oci_error(&self.host, &op, e);
                    Err(self.missing_reference(failure, repo, manifest))
                }
            }
        })
        .await
    }

    /// `PUT /v2/<repo>/manifests/<target>` with the HTTP client, for registries reached with a
    /// client certificate.
    async fn put_manifest_directly(
        &self,
        repo: &str,
        manifest: &RawManifest,
        target: &str,
        op: &str,
        content_type: &HeaderValue,
    ) -> Result<(), Error> {
        let response = self
            .send(op, repo, &[Scope::push(repo)], |http, base| {
                http.put(Self::url(base, repo, &format!("manifests/{target}")))
                    .header(CONTENT_TYPE, content_type.clone())
                    .body(manifest.bytes().clone())
            })
            .await?;
        if response.status().is_success() {
            return Ok(());
        }
        let failure = Failure::read(response).await.into_error(&self.host, op);
        Err(self.missing_reference(failure, repo, manifest))
    }

    /// `MANIFEST_BLOB_UNKNOWN` (or an unknown child manifest) names what the manifest lacks.
    fn missing_reference(&self, e: Error, repo: &str, manifest: &RawManifest) -> Error {
        let Error::Registry {
            status: Some(status),
            ref message,
            ..
        } = e
        else {
            return e;
        };
        let codes = ["MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "MANIFEST_UNKNOWN"];
        if (400..500).contains(&status) && codes.iter().any(|c| message.contains(c)) {
            let named = find_digest(message).filter(|d| d != manifest.digest());
            let missing = named.or_else(|| {
                // The registry did not say which; the first reference it lacks is a fair guess
                // only when there is a single candidate.
                let refs = manifest.references().ok()?;
                (refs.len() == 1).then(|| refs[0].digest.clone())
            });
            if let Some(missing) = missing {
                return Error::MissingReference {
                    location: self.host.clone(),
                    repo: repo.to_string(),
                    manifest: manifest.digest().clone(),
                    missing,
                };
            }
        }
        e
    }

    pub(super) async fn tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        let op = format!("GET tags {repo}");
        let mut tags = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .retrying(&op, || async {
                    let _slot = self.permit().await?;
                    let r = self
                        .send(&op, repo, &[Scope::pull(repo)], |http, base| {
                            let mut q = vec![("n", TAGS_PAGE.to_string())];
                            if let Some(l) = &last {
                                q.push(("last", l.clone()));
                            }
                            http.get(Self::url(base, repo, "tags/list")).query(&q)
                        })
                        .await?;
                    match r.status().as_u16() {
                        200 => {}
                        404 => return Ok(None),
                        _ => return Err(Failure::read(r).await.into_error(&self.host, &op)),
                    }
                    let more =
                        header(&r, LINK.as_str()).is_some_and(|l| l.contains("rel=\"next\""));
                    let body = read_limited(r, 64 * 1024 * 1024, &self.host, &op).await?;
                    #[derive(serde::Deserialize)]
                    struct TagList {
                        #[serde(default)]
                        tags: Option<Vec<String>>,
                    }
                    let list: TagList =
                        serde_json::from_slice(&body).map_err(|e| Error::Registry {
                            registry: self.host.clone(),
                            operation: op.clone(),
                            status: Some(200),
                            message: format!("not a tag list: {e}"),
                        })?;
                    Ok(Some((list.tags.unwrap_or_default(), more)))
                })
                .await?;
            // A repository that does not exist has no tags.
            let Some((page, more)) = page else { break };
            let progressed = page.last().cloned();
            let full = page.len() >= TAGS_PAGE;
            tags.extend(page);
            match progressed {
                Some(l) if more || full => {
                    if last.as_ref() == Some(&l) {
                        break;
                    }
                    last = Some(l);
                }
                _ => break,
            }
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }
}
