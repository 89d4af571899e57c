//! Retrying transient registry failures with exponential backoff and jitter.
//!
//! What is retried: HTTP 429, 5xx,
//! connection failures, resets and timeouts. A 429 or 503 that carries `Retry-After` is retried
//! after the wait it asks for (capped at [`MAX_RETRY_AFTER`]) instead of the backoff. Authentication failures, 4xx answers, digest
//! mismatches and TLS failures are not: another attempt would fail the same way.
//!
//! Retries happen at the level of one registry operation whose inputs can be replayed: a `HEAD`,
//! a manifest `GET` or `PUT`, a tag list, a mount, opening a blob download (until its first
//! byte), and opening an upload session. A blob upload whose bytes already started flowing
//! cannot be replayed from a [`ByteStream`](crate::ByteStream); it is retried only by
//! [`RegistryStore::write_blob_reopening`](super::RegistryStore::write_blob_reopening), which
//! re-opens the source for each attempt.

use std::time::Duration;

use rand::Rng;

/// The longest wait a registry's `Retry-After` can impose before one retry. A minute is longer
/// than any throttling window of the public registries (they ask for seconds), and short enough
/// that a copy told to wait for hours is not left looking hung; after it the retry is made, and a
/// registry still throttling answers with a new `Retry-After`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how patiently to retry.
///
/// ```
/// use std::time::Duration;
/// use okd_oci::registry::RetryPolicy;
///
/// let p = RetryPolicy::new(5, Duration::from_millis(200), Duration::from_secs(10));
/// assert!(p.delay(1) <= Duration::from_millis(200));
/// assert!(p.delay(10) <= Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of any delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts, 250 ms doubling up to 15 s (oc-mirror retries five times too).
    fn default() -> Self {
        RetryPolicy::new(5, Duration::from_millis(250), Duration::from_secs(15))
    }
}

impl RetryPolicy {
    /// A policy of `attempts` tries with delays from `base_delay` doubling up to `max_delay`.
    pub fn new(attempts: u32, base_delay: Duration, max_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            attempts: attempts.max(1),
            base_delay,
            max_delay,
        }
    }

    /// No retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// The delay after failed attempt number `attempt` (1-based): a uniform draw between half
    /// and all of the capped exponential, so that many clients retrying at once spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let cap = exp.min(self.max_delay);
        if cap.is_zero() {
            return cap;
        }
        let nanos = rand::rng().random_range(cap.as_nanos() as u64 / 2..=cap.as_nanos() as u64);
        Duration::from_nanos(nanos)
    }

    /// The wait after failed attempt number `attempt`: the registry's `Retry-After` when it gave
    /// one (at most [`MAX_RETRY_AFTER`], and not bounded by `max_delay`: the registry asked for
    /// it), else [`delay`](Self::delay).
    ///
    /// ```
    /// use std::time::Duration;
    /// use okd_oci::registry::RetryPolicy;
    ///
    /// let p = RetryPolicy::new(5, Duration::from_millis(10), Duration::from_millis(100));
    /// assert_eq!(p.wait(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
    /// assert_eq!(p.wait(1, Some(Duration::from_secs(3600))), Duration::from_secs(60));
    /// assert!(p.wait(1, None) <= Duration::from_millis(10));
    /// ```
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => asked.min(MAX_RETRY_AFTER),
            None => self.delay(attempt),
        }
    }
}
