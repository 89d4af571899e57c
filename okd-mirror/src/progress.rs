//! Progress of a mirror, as events.
//!
//! The library never draws: it reports [`Event`]s to a [`Progress`] sink, and a front end turns
//! them into a progress bar, log lines or a journal. Any `Fn(&Event)` is a sink; [`channel`] gives
//! one that forwards events to a tokio channel for a drawing task to consume.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use okd_mirror::progress::{Event, Progress};
//!
//! let seen = Arc::new(Mutex::new(0u64));
//! let counter = seen.clone();
//! let sink = move |e: &Event| {
//!     if let Event::BlobBytes { bytes, .. } = e {
//!         *counter.lock().unwrap() += bytes;
//!     }
//! };
//! sink.event(&Event::BlobBytes { digest: okd_oci::Digest::sha256_of(b""), bytes: 3 });
//! assert_eq!(*seen.lock().unwrap(), 3);
//! ```

use std::time::Duration;

use okd_oci::Digest;
use serde::Serialize;

/// What happened to one blob at one destination repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlobOutcome {
    /// The destination already had it.
    Skipped,
    /// It was mounted from another repository of the destination.
    Mounted,
    /// Its bytes were transferred.
    Copied,
}

/// Something that happened during planning or copying.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// Planning started for this many images.
    Planning {
        /// Images in the mirror.
        images: usize,
    },
    /// The plan is ready.
    Planned {
        /// Images in the mirror.
        images: usize,
        /// Images the destination does not have complete yet.
        pending_images: usize,
        /// Unique blobs needed by the pending images.
        blobs: usize,
        /// Bytes to transfer.
        bytes_to_copy: u64,
    },
    /// A blob transfer started.
    BlobStarted {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
        /// `location/repo` it goes to.
        destination: String,
    },
    /// Bytes of a blob went through (a delta, not a total).
    BlobBytes {
        /// The blob.
        digest: Digest,
        /// Bytes since the last event for this blob.
        bytes: u64,
    },
    /// A blob is present at one destination repository.
    BlobFinished {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
        /// `location/repo`.
        destination: String,
        /// How it got there.
        outcome: BlobOutcome,
    },
    /// A blob could not be made present.
    BlobFailed {
        /// The blob.
        digest: Digest,
        /// `location/repo`.
        destination: String,
        /// Why.
        error: String,
    },
    /// A manifest was written.
    ManifestWritten {
        /// The manifest.
        digest: Digest,
        /// The destination image.
        destination: String,
    },
    /// An image is complete at its destination (written now, or already there).
    ImageFinished {
        /// Component or image name.
        name: String,
        /// The destination.
        destination: String,
        /// True when it was already there.
        already_present: bool,
    },
    /// An image could not be written.
    ImageFailed {
        /// Component or image name.
        name: String,
        /// The destination.
        destination: String,
        /// Why.
        error: String,
    },
    /// An operation is retried.
    Retry {
        /// What is retried (`blob sha256:…`, `manifest …`).
        what: String,
        /// Retry number, from 1.
        attempt: u32,
        /// The error that caused it.
        error: String,
        /// The wait before the retry.
        #[serde(with = "secs")]
        wait: Duration,
    },
    /// The mirror finished.
    Finished {
        /// Wall-clock time of the run.
        #[serde(with = "secs")]
        duration: Duration,
        /// Images that failed.
        failed_images: usize,
    },
}

/// A sink for [`Event`]s. It is called from many tasks at once and must not block.
pub trait Progress: Send + Sync {
    /// Receives one event.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Progress for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// A sink that drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: &Event) {}
}

/// A sink that forwards events to a channel.
#[derive(Debug, Clone)]
pub struct ChannelProgress(tokio::sync::mpsc::UnboundedSender<Event>);

impl Progress for ChannelProgress {
    fn event(&self, event: &Event) {
        // A receiver that went away only means nobody is watching any more.
        let _ = self.0.send(event.clone());
    }
}

/// A sink and the receiving end of its channel.
pub fn channel() -> (ChannelProgress, tokio::sync::mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (ChannelProgress(tx), rx)
}

pub(crate) mod secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v: f64 = serde::Deserialize::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channel_forwards_events() {
        let (sink, mut rx) = channel();
        sink.event(&Event::Planning { images: 3 });
        assert_eq!(rx.recv().await, Some(Event::Planning { images: 3 }));
        drop(rx);
        sink.event(&Event::Planning { images: 4 });
    }

    #[test]
    fn events_serialise_as_tagged_json() {
        let e = Event::Retry {
            what: "blob".into(),
            attempt: 1,
            error: "503".into(),
            wait: Duration::from_millis(1500),
        };
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(
            j,
            r#"{"event":"retry","what":"blob","attempt":1,"error":"503","wait":1.5}"#
        );
    }
}
