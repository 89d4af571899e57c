//! Blob downloads that resume where the body broke.
//!
//! A connection that drops in the middle of a multi-GiB layer would otherwise fail the whole
//! copy, and the upload it feeds with it. Here the body stream asks the registry again with
//! `Range: bytes=<received>-` and carries on from there: whoever reads the stream (the
//! destination's upload) only sees the bytes continue. The rules follow containers/image:
//!
//! * only a broken body is resumed (a reset, a timeout, a body shorter than its
//!   `Content-Length`), never an answer the registry gave;
//! * the resumed answer must be `206 Partial Content` with a `Content-Range` that starts at
//!   the byte asked for and ends at the blob's last byte;
//! * a resume is made after the first break, or once at least [`MIN_PROGRESS`] bytes arrived since
//!   the previous one, and at most [`MAX_RESUMES`] times; past that the download fails.
//!
//! A registry that ignores `Range` answers `200` with the whole blob: that download starts
//! again from byte zero, and the bytes the reader already has are skipped, so the stream still
//! continues where it broke (containers/image gives up there instead; the bytes are the same blob,
//! and whoever stores them verifies its digest).

use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, RANGE};
use tokio::sync::Semaphore;

use super::RetryPolicy;
use super::auth::{Authenticator, Grant, Scope};
use super::response::{Failure, error_chain, transport_error};
use crate::{ByteStream, Digest, Error};

/// Most resumes of one download.
pub(super) const MAX_RESUMES: u32 = 8;

/// Bytes that must arrive between two resumes (after the first): a connection that breaks at
/// once again and again is not worth hammering.
pub(super) const MIN_PROGRESS: u64 = 1024 * 1024;

type Body = std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// What a download needs to ask for the rest of its blob.
pub(super) struct Resumer {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) url: String,
    pub(super) repo: String,
    pub(super) auth: Arc<Authenticator>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) policy: RetryPolicy,
    pub(super) host: String,
    /// `GET blob <repo>@<digest>`: names the repository and the blob in errors.
    pub(super) op: String,
    pub(super) digest: Digest,
    pub(super) size: u64,
}

struct State {
    resumer: Resumer,
    body: Body,
    received: u64,
    /// Bytes of the current answer to drop (a `200` to a `Range` request restarts at zero).
    skip: u64,
    resumes: u32,
    /// `received` at the last resume.
    resumed_at: u64,
    done: bool,
}

/// The body of `first` (a `200` to a plain `GET`), resumed when it breaks.
pub(super) fn resuming(resumer: Resumer, first: reqwest::Response) -> ByteStream {
    let state = State {
        resumer,
        body: Box::pin(first.bytes_stream()),
        received: 0,
        skip: 0,
        resumes: 0,
        resumed_at: 0,
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let item = s.next().await;
        if !matches!(item, Some(Ok(_))) {
            s.done = true;
        }
        item.map(|i| (i, s))
    }))
}

impl State {
    /// The next bytes, resuming as often as the rules allow.
    async fn next(&mut self) -> Option<Result<Bytes, Error>> {
        let size = self.resumer.size;
        loop {
            let broken = match self.body.next().await {
                Some(Ok(mut bytes)) => {
                    let drop = self.skip.min(bytes.len() as u64);
                    self.skip -= drop;
                    bytes = bytes.slice(drop as usize..);
                    if bytes.is_empty() {
                        continue;
                    }
                    self.received += bytes.len() as u64;
                    if self.received > size {
                        let r = &self.resumer;
                        return Some(Err(Error::SizeMismatch {
                            what: format!("blob {} from {}/{}", r.digest, r.host, r.repo),
                            digest: r.digest.clone(),
                            expected: size,
                            actual: self.received,
                        }));
                    }
                    return Some(Ok(bytes));
                }
                // Every byte is in: a failure after the last one loses nothing.
                None | Some(Err(_)) if self.received == size => return None,
                None => format!("the body ended after {} of {size} bytes", self.received),
                Some(Err(e)) => error_chain(&e),
            };
            if let Err(e) = self.resume(&broken).await {
                return Some(Err(e));
            }
        }
    }

    fn error(&self, message: String) -> Error {
        self.resumer.error(message)
    }

    /// Asks for the rest of the blob after the body broke with `broken`.
    async fn resume(&mut self, broken: &str) -> Result<(), Error> {
        let progress = self.received - self.resumed_at;
        if self.resumes >= MAX_RESUMES || (self.resumes > 0 && progress < MIN_PROGRESS) {
            return Err(self.error(format!(
                "{broken} (after {} resumes, the last {progress} bytes ago; giving up)",
                self.resumes
            )));
        }
        self.resumes += 1;
        self.resumed_at = self.received;
        let at = self.received;
        tracing::info!(registry = %self.resumer.host, operation = %self.resumer.op, at, error = broken, "resuming the download");
        tokio::time::sleep(self.resumer.policy.delay(self.resumes)).await;
        let r = self
            .resumer
            .request(at)
            .await
            .map_err(|e| self.error(format!("{broken}; resuming at byte {at} failed: {e}")))?;
        match r.status().as_u16() {
            206 => {
                let range = r.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok());
                let expected = (at, self.resumer.size.saturating_sub(1));
                match range.and_then(parse_content_range) {
                    Some((first, last, total))
                        if (first, last) == expected
                            && total.is_none_or(|t| t == self.resumer.size) => {}
                    _ => {
                        return Err(self.error(format!(
                            "{broken}; resuming at byte {at}: the registry answered \
                             Content-Range {range:?}, not bytes {at}-{}/{}",
                            expected.1, self.resumer.size
                        )));
                    }
                }
                self.skip = 0;
            }
            200 => {
                tracing::debug!(registry = %self.resumer.host, operation = %self.resumer.op, "Range ignored; reading the blob again from its start");
                self.skip = at;
            }
            _ => {
                let e = Failure::read(r)
                    .await
                    .into_error(&self.resumer.host, &self.resumer.op);
                return Err(self.error(format!("{broken}; resuming at byte {at}: {e}")));
            }
        }
        self.body = Box::pin(r.bytes_stream());
        Ok(())
    }
}

impl Resumer {
    /// A broken download of this blob.
    fn error(&self, message: String) -> Error {
        Error::Transport {
            registry: self.host.clone(),
            operation: self.op.clone(),
            message,
        }
    }

    /// `GET` with `Range: bytes=<at>-`, authorised like any request (a 401 with a cached token
    /// renews it once). Holds a request slot only until the answer starts.
    async fn request(&self, at: u64) -> Result<reqwest::Response, Error> {
        let r = self;
        let _slot = r
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| self.error("the store is shutting down".to_string()))?;
        let scopes = [Scope::pull(&r.repo)];
        let mut renewed = false;
        loop {
            let grant = r.auth.grant(&r.http, &r.base, &scopes).await?;
            let mut request = r.http.get(&r.url).header(RANGE, format!("bytes={at}-"));
            if let Some(h) = grant.header() {
                request = request.header(AUTHORIZATION, h);
            }
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(&r.host, &r.op, &e))?;
            if response.status().as_u16() == 401 && matches!(grant, Grant::Bearer(_)) && !renewed {
                r.auth.invalidate().await;
                renewed = true;
                continue;
            }
            return Ok(response);
        }
    }
}

/// `bytes <first>-<last>/<total or *>` as `(first, last, total)`.
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let range = value.trim().strip_prefix("bytes ")?;
    let (span, total) = range.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let total = match total {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first.parse().ok()?, last.parse().ok()?, total))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 900-999/1000"),
            Some((900, 999, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, 9, None)));
        assert_eq!(parse_content_range("900-999/1000"), None);
        assert_eq!(parse_content_range("bytes 9-x/10"), None);
        assert_eq!(parse_content_range("bytes 1-2"), None);
    }
}
