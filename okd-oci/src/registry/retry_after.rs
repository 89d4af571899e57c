//! `Retry-After`: the wait a registry asks for with a `429 Too Many Requests` or a
//! `503 Service Unavailable`, handed from the answer to the retry loop.
//!
//! The header holds delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`,
//! RFC 9110). A registry that says how long to wait knows better than a backoff guess: retrying
//! earlier only earns another 429, and waiting longer than asked wastes the mirror's time. The
//! wait is capped at [`MAX_RETRY_AFTER`](super::retry::MAX_RETRY_AFTER), so that a registry
//! cannot park a copy for hours with one header.
//!
//! Answers become [`Error`](crate::Error)s in many places (`Failure::read`), and the error type
//! has no room for a header; rather than widen a public error for one hint, each attempt of the
//! retry loop runs in a task-local scope that [`note`] fills when a throttling answer is read,
//! and that the loop reads once the attempt failed. Outside such a scope, `note` does nothing.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::RETRY_AFTER;

tokio::task_local! {
    /// The `Retry-After` of the last throttling answer read during the current attempt.
    static HINT: Cell<Option<Duration>>;
}

/// Runs one attempt, returning its result and the wait the registry asked for during it.
pub(super) async fn capture<T>(attempt: impl Future<Output = T>) -> (T, Option<Duration>) {
    HINT.scope(Cell::new(None), async {
        let out = attempt.await;
        (out, HINT.with(Cell::take))
    })
    .await
}

/// Records the `Retry-After` of `response` when it is a 429 or a 503.
pub(super) fn note(response: &reqwest::Response) {
    let status = response.status().as_u16();
    if status != 429 && status != 503 {
        return;
    }
    let wait = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse(v, SystemTime::now()));
    if let Some(wait) = wait {
        // Outside an attempt's scope (a best-effort request) there is nobody to tell.
        let _ = HINT.try_with(|h| h.set(Some(wait)));
    }
}

/// The wait a `Retry-After` value asks for at `now`: delta-seconds, or an HTTP-date (a date in
/// the past asks for no wait). `None` for a value that is neither.
pub(super) fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A number too large for u64 is still "a very long time"; the cap applies later.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn delta_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC
        assert_eq!(parse("1", now), Some(Duration::from_secs(1)));
        assert_eq!(parse(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("-5", now), None);
        assert_eq!(parse("", now), None);
    }

    #[tokio::test]
    async fn the_hint_belongs_to_its_attempt() {
        let (out, hint) = capture(async {
            HINT.with(|h| h.set(Some(Duration::from_secs(3))));
            7
        })
        .await;
        assert_eq!((out, hint), (7, Some(Duration::from_secs(3))));
        let (_, none) = capture(async {}).await;
        assert_eq!(none, None);
    }
}
