//! Blob uploads: open a session, then send the whole body in one request.
//!
//! `POST /v2/<repo>/blobs/uploads/` opens the session; `PUT <location>?digest=` sends the body
//! with `Content-Length` and closes it. To skip blobs the repository already has without a
//! separate `HEAD`, the `POST` can carry a mount from the repository itself
//! (`?mount=<digest>&from=<repo>`): the registry answers `201 Created` when it has the blob, and
//! otherwise falls back, as the distribution spec requires, to opening a session (`202`). A
//! registry that ignores mounts just opens the session, and the blob is sent again: harmless.
//!
//! An [`UploadSource`] lends the caller's stream to the `PUT` lazily: until the body is first
//! polled the stream stays recoverable, so a failure to open the session can be retried with the
//! same bytes. As the bytes flow they are counted, and
//! more or fewer bytes than announced fail the body before the registry can commit it. They are
//! not hashed: the registry computes the digest of every upload and refuses one that does not
//! match `?digest=` (`DIGEST_INVALID`), so hashing here as well would only spend a core.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};

use super::RegistryStore;
use super::auth::Scope;
use super::response::{Failure, transport_error};
use crate::{ByteStream, Digest, Error};

/// What opening an upload found.
pub(super) enum Session {
    /// The registry mounted the blob (from another repository, or found it in this one).
    Present,
    /// An upload session, at this URL (`None` when the registry gave no usable `Location`).
    Open(Option<url::Url>),
}

impl RegistryStore {
    /// Opens an upload session in `repo`. With `mount_from`, the registry is first asked to
    /// mount the blob from that repository (`repo` itself finds a blob it already has); it
    /// answers `201` when it did, else opens the session as the spec's fallback.
    pub(super) async fn open_upload(
        &self,
        repo: &str,
        digest: &Digest,
        mount_from: Option<&str>,
    ) -> Result<Session, Error> {
        let op = match mount_from {
            Some(from) if from != repo => format!("POST mount {repo}@{digest} from {from}"),
            _ => format!("POST upload {repo}@{digest}"),
        };
        // A mount from another repository needs `pull` there, which a one-repository token lacks.
        let mut scopes = vec![Scope::push(repo)];
        if let Some(from) = mount_from.filter(|f| *f != repo) {
            scopes.push(Scope::pull(from));
        }
        let r = self
            .send(&op, repo, &scopes, |http, base| {
                let post = http
                    .post(Self::url(base, repo, "blobs/uploads/"))
                    .header(CONTENT_LENGTH, 0);
                match mount_from {
                    Some(from) => {
                        post.query(&[("mount", digest.to_string()), ("from", from.to_string())])
                    }
                    None => post,
                }
            })
            .await?;
        match r.status().as_u16() {
            201 if mount_from.is_some() => Ok(Session::Present),
            202 => {
                let location = r.headers().get(LOCATION).and_then(|v| v.to_str().ok());
                let base = url::Url::parse(&self.connection().await?.base).ok();
                let url = base.zip(location).and_then(|(b, l)| b.join(l).ok());
                Ok(Session::Open(url))
            }
            _ => Err(Failure::read(r).await.into_error(&self.host, &op)),
        }
    }

    /// A request to an upload session. Credentials go only to the registry itself, never to
    /// another host a `Location` names.
    pub(super) async fn session_request(
        &self,
        method: reqwest::Method,
        repo: &str,
        location: url::Url,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let conn = self.connection().await?;
        let same_origin =
            url::Url::parse(&conn.base).is_ok_and(|base| base.origin() == location.origin());
        let mut request = conn.http.request(method, location);
        if same_origin {
            let (grant, _) = self.grant(repo, &[Scope::push(repo)]).await?;
            if let Some(h) = grant.header() {
                request = request.header(AUTHORIZATION, h);
            }
        }
        Ok(request)
    }

    /// Sends the whole body to an open session and closes it with `?digest=`. No bound on the
    /// whole request (a large blob streams for long); the client's read timeout still applies.
    pub(super) async fn send_upload(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        mut location: url::Url,
        source: &UploadSource,
    ) -> Result<reqwest::Response, Error> {
        let op = format!("PUT blob {repo}@{digest}");
        location
            .query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        self.session_request(reqwest::Method::PUT, repo, location)
            .await?
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(source.body()))
            .send()
            .await
            // The session URL carries the registry's upload state, noise in a message.
            .map_err(|e| transport_error(&self.host, &op, &e.without_url()))
    }
}

#[derive(Default)]
struct Shared {
    source: Option<ByteStream>,
    touched: bool,
    /// What went wrong on our side of the transfer (source error, size).
    failure: Option<Error>,
    sent: u64,
}

/// A caller's blob stream, lent to one upload attempt at a time.
pub(super) struct UploadSource {
    shared: Arc<Mutex<Shared>>,
    digest: Digest,
    size: u64,
    what: String,
}

impl UploadSource {
    pub(super) fn new(data: ByteStream, digest: &Digest, size: u64, what: String) -> UploadSource {
        UploadSource {
            shared: Arc::new(Mutex::new(Shared {
                source: Some(data),
                ..Shared::default()
            })),
            digest: digest.clone(),
            size,
            what,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// True while no byte was taken from the source: an attempt may be repeated.
    pub(super) fn untouched(&self) -> bool {
        let s = self.lock();
        !s.touched && s.source.is_some()
    }

    /// The body for one attempt.
    pub(super) fn body(&self) -> LentBody {
        LentBody {
            shared: self.shared.clone(),
            sent: 0,
            finished: false,
            digest: self.digest.clone(),
            size: self.size,
            what: self.what.clone(),
            stream: None,
        }
    }

    /// The failure found on our side, if any.
    pub(super) fn failure(&self) -> Option<Error> {
        self.lock().failure.take()
    }

    /// Bytes sent so far.
    pub(super) fn sent(&self) -> u64 {
        self.lock().sent
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // The state is a few plain fields updated one at a time; a poisoned lock is still coherent.
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The body of the `PUT`: takes the source on first poll and counts.
pub(super) struct LentBody {
    shared: Arc<Mutex<Shared>>,
    stream: Option<ByteStream>,
    sent: u64,
    /// Set once the body ended or failed; later polls end it.
    finished: bool,
    digest: Digest,
    size: u64,
    what: String,
}

impl LentBody {
    fn size_mismatch(&self) -> Error {
        Error::SizeMismatch {
            what: self.what.clone(),
            digest: self.digest.clone(),
            expected: self.size,
            actual: self.sent,
        }
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        let message = e.to_string();
        let mut s = lock(&self.shared);
        if s.failure.is_none() {
            s.failure = Some(e);
        }
        self.finished = true;
        Poll::Ready(Some(Err(std::io::Error::other(message))))
    }
}

impl Stream for LentBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        if this.stream.is_none() {
            let mut s = lock(&this.shared);
            s.touched = true;
            this.stream = s.source.take();
            drop(s);
            if this.stream.is_none() {
                let what = this.what.clone();
                return this.fail(Error::Layer {
                    what,
                    reason: "the source stream was already consumed by an earlier attempt"
                        .to_string(),
                });
            }
        }
        let Some(stream) = this.stream.as_mut() else {
            return Poll::Ready(None);
        };
        match stream.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => this.fail(e),
            Poll::Ready(Some(Ok(chunk))) => {
                this.sent += chunk.len() as u64;
                lock(&this.shared).sent = this.sent;
                if this.sent > this.size {
                    let e = this.size_mismatch();
                    return this.fail(e);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                if this.sent != this.size {
                    let e = this.size_mismatch();
                    return this.fail(e);
                }
                this.finished = true;
                Poll::Ready(None)
            }
        }
    }
}
