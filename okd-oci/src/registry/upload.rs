//! The source side of a blob upload.
//!
//! oci-client's streamed monolithic push opens the upload session (`POST`) and then sends the
//! body with `Content-Length` (`PUT ?digest=`). An [`UploadSource`] lends the caller's stream
//! to it lazily: until the body is first polled the stream stays recoverable, so a failure to
//! open the session can be retried with the same bytes. As the bytes flow they are counted and
//! hashed; more bytes than announced stop the transfer, and a final digest or size mismatch
//! fails the body before the registry can commit it (which it would refuse anyway, since it
//! checks `?digest=` itself).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use crate::{ByteStream, Digest, Error, Hasher};

#[derive(Default)]
struct Shared {
    source: Option<ByteStream>,
    touched: bool,
    /// What went wrong on our side of the transfer (source error, size, digest).
    failure: Option<Error>,
    /// The digest of all the bytes sent, once the source ended.
    actual: Option<Digest>,
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
            hasher: Some(Hasher::for_digest(&self.digest)),
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

    /// The digest of what was sent, when the whole source went out.
    pub(super) fn actual(&self) -> Option<Digest> {
        self.lock().actual.clone()
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

/// The stream handed to oci-client: takes the source on first poll, hashes and counts.
pub(super) struct LentBody {
    shared: Arc<Mutex<Shared>>,
    stream: Option<ByteStream>,
    hasher: Option<Hasher>,
    digest: Digest,
    size: u64,
    what: String,
}

impl LentBody {
    fn fail(&mut self, e: Error) -> Poll<Option<oci_client::errors::Result<Bytes>>> {
        let message = e.to_string();
        let mut s = lock(&self.shared);
        if s.failure.is_none() {
            s.failure = Some(e);
        }
        self.hasher = None;
        Poll::Ready(Some(Err(
            oci_client::errors::OciDistributionError::IoError(std::io::Error::other(message)),
        )))
    }
}

impl Stream for LentBody {
    type Item = oci_client::errors::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.hasher.is_none() {
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
                let Some(hasher) = this.hasher.as_mut() else {
                    return Poll::Ready(None);
                };
                hasher.update(&chunk);
                let sent = hasher.len();
                lock(&this.shared).sent = sent;
                if sent > this.size {
                    let e = Error::SizeMismatch {
                        what: this.what.clone(),
                        digest: this.digest.clone(),
                        expected: this.size,
                        actual: sent,
                    };
                    return this.fail(e);
                }
                if sent == this.size {
                    // The last announced byte: check before it leaves, so that a wrong blob
                    // never reaches the registry whole (the body stays short of its length).
                    let actual = hasher.clone().finish();
                    lock(&this.shared).actual = Some(actual.clone());
                    if actual != this.digest {
                        let e = Error::DigestMismatch {
                            what: this.what.clone(),
                            expected: this.digest.clone(),
                            actual,
                        };
                        return this.fail(e);
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                let Some(hasher) = this.hasher.take() else {
                    return Poll::Ready(None);
                };
                let sent = hasher.len();
                let actual = hasher.finish();
                lock(&this.shared).actual = Some(actual.clone());
                if sent != this.size {
                    let e = Error::SizeMismatch {
                        what: this.what.clone(),
                        digest: this.digest.clone(),
                        expected: this.size,
                        actual: sent,
                    };
                    return this.fail(e);
                }
                if actual != this.digest {
                    let e = Error::DigestMismatch {
                        what: this.what.clone(),
                        expected: this.digest.clone(),
                        actual,
                    };
                    return this.fail(e);
                }
                Poll::Ready(None)
            }
        }
    }
}
