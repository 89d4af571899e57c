//! Retries with exponential backoff, at the level of one blob or one manifest.
//!
//! A store retries its own requests, but a blob whose stream broke half-way (a connection reset
//! mid-body, bytes corrupted in transit and refused by the destination) can only be retried by
//! starting the copy again, which is what happens here. Errors that will not go away by
//! themselves (not found, unauthorised, invalid manifests) are not retried.
//!
//! ```
//! use std::time::Duration;
//! use okd_mirror::RetryPolicy;
//!
//! let p = RetryPolicy { attempts: 4, initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1) };
//! assert_eq!(p.backoff(1), Duration::from_millis(100));
//! assert_eq!(p.backoff(2), Duration::from_millis(200));
//! assert_eq!(p.backoff(9), Duration::from_secs(1));
//! ```

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often and how patiently to retry a failed blob or manifest copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 means no retry).
    pub attempts: u32,
    /// Wait before the first retry; it doubles for each further one.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry), without jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// Runs `op` until it succeeds, fails with an error [`is_retryable`] says is permanent, or
    /// the attempts are used up. `on_retry` is told about each retry before the wait.
    pub async fn run<T, F, Fut>(
        &self,
        mut op: F,
        mut on_retry: impl FnMut(u32, &okd_oci::Error, Duration),
    ) -> Result<T, okd_oci::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, okd_oci::Error>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.attempts.max(1) && is_retryable(&e) => {
                    let base = self.backoff(attempt);
                    // Up to a quarter of jitter, so that parallel copies do not retry in lockstep.
                    let jitter = base.mul_f64(rand::random::<f64>() * 0.25);
                    let wait = base + jitter;
                    on_retry(attempt, &e, wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// True for failures a later attempt may not hit: connection and server errors, throttling, a
/// body refused as too large (the registry store switches to chunked uploads),
/// content that arrived damaged (a digest or size mismatch, or a registry refusing an upload
/// whose digest did not match), and a store's own retries of such a failure running out.
pub fn is_retryable(e: &okd_oci::Error) -> bool {
    use okd_oci::Error as E;
    match e {
        E::Registry {
            status, message, ..
        } => match status {
            None => true,
            Some(408 | 429) => true,
            // A body-size limit: the store now sends blobs in chunks, so the copy succeeds
            // when it is made again from a fresh source.
            Some(413) => true,
            Some(s) if *s >= 500 => true,
            Some(400) => {
                message.contains("DIGEST_INVALID")
                    || message.contains("SIZE_INVALID")
                    || message.contains("BLOB_UPLOAD_INVALID")
            }
            Some(_) => false,
        },
        // A connection reset or timed out, possibly half-way through a body.
        E::Transport { .. } => true,
        // The store gave up on its own retries of one request; the whole copy, later and with
        // a fresh source, may still get through.
        E::RetriesExhausted { last, .. } => is_retryable(last),
        E::DigestMismatch { .. } | E::DigestRejected { .. } | E::SizeMismatch { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn transient() -> okd_oci::Error {
        okd_oci::Error::Registry {
            registry: "r".into(),
            operation: "PUT".into(),
            status: Some(503),
            message: "unavailable".into(),
        }
    }

    #[test]
    fn a_body_size_limit_is_retried_and_a_refusal_is_not() {
        let with = |status| okd_oci::Error::Registry {
            registry: "r".into(),
            operation: "PUT blob".into(),
            status: Some(status),
            message: String::new(),
        };
        assert!(is_retryable(&with(413)));
        assert!(!is_retryable(&with(403)));
    }

    fn fast(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn retries_transient_errors_until_success() {
        let calls = AtomicU32::new(0);
        let mut retries = Vec::new();
        let out = fast(4)
            .run(
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        Err(transient())
                    } else {
                        Ok(7)
                    }
                },
                |n, _, _| retries.push(n),
            )
            .await
            .unwrap();
        assert_eq!(out, 7);
        assert_eq!(retries, [1, 2]);
    }

    #[tokio::test]
    async fn gives_up_after_attempts() {
        let calls = AtomicU32::new(0);
        let err = fast(3)
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(transient())
                },
                |_, _, _| {},
            )
            .await
            .unwrap_err();
        assert!(matches!(err, okd_oci::Error::Registry { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let d = okd_oci::Digest::sha256_of(b"x");
        fast(5)
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(okd_oci::Error::BlobNotFound {
                        location: "l".into(),
                        repo: "r".into(),
                        digest: d.clone(),
                    })
                },
                |_, _, _| {},
            )
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn classification() {
        let reg = |status, message: &str| okd_oci::Error::Registry {
            registry: "r".into(),
            operation: "op".into(),
            status,
            message: message.into(),
        };
        assert!(is_retryable(&reg(None, "connection reset")));
        assert!(is_retryable(&reg(Some(429), "slow down")));
        assert!(is_retryable(&reg(
            Some(400),
            "DIGEST_INVALID: provided digest did not match"
        )));
        assert!(!is_retryable(&reg(Some(401), "UNAUTHORIZED")));
        assert!(!is_retryable(&reg(Some(404), "MANIFEST_UNKNOWN")));
        assert!(is_retryable(&okd_oci::Error::Transport {
            registry: "r".into(),
            operation: "PUT blob".into(),
            message: "connection closed before message completed".into(),
        }));
        let exhausted = |last| okd_oci::Error::RetriesExhausted {
            registry: "r".into(),
            operation: "POST upload".into(),
            attempts: 5,
            last: Box::new(last),
        };
        assert!(is_retryable(&exhausted(reg(Some(503), "UNAVAILABLE"))));
        assert!(!is_retryable(&exhausted(reg(Some(401), "UNAUTHORIZED"))));
        assert!(is_retryable(&okd_oci::Error::DigestRejected {
            what: "blob".into(),
            expected: okd_oci::Digest::sha256_of(b"x"),
        }));
    }
}
