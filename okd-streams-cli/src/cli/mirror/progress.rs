//! Showing a mirror's progress events: a progress bar of bytes and images on a terminal, plain
//! log lines on stderr otherwise (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use okd_mirror::progress::{BlobOutcome, Event, Progress};

/// `1.5 GiB`, `320 KiB`, `12 B`.
pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// Where events go.
pub struct Display {
    sink: Arc<Sink>,
}

enum Sink {
    Bar {
        bar: ProgressBar,
        images: AtomicUsize,
        done: AtomicUsize,
        /// Bytes of blobs found present; copies start while planning, so some are found
        /// before the plan (and the bar's length) is known.
        skipped: AtomicU64,
    },
    Log,
}

impl Display {
    /// A bar when stderr is a terminal, log lines otherwise.
    pub fn new() -> Display {
        let sink = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message("planning");
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            Sink::Bar {
                bar,
                images: AtomicUsize::new(0),
                done: AtomicUsize::new(0),
                skipped: AtomicU64::new(0),
            }
        } else {
            Sink::Log
        };
        Display {
            sink: Arc::new(sink),
        }
    }

    /// The sink to give the mirror.
    pub fn sink(&self) -> Arc<dyn Progress> {
        self.sink.clone()
    }

    /// Removes the bar, leaving the terminal to what follows.
    pub fn finish(&self) {
        if let Sink::Bar { bar, .. } = self.sink.as_ref() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Sink {
    fn event(&self, event: &Event) {
        match self {
            Sink::Log => log_line(event),
            Sink::Bar {
                bar,
                images,
                done,
                skipped,
            } => {
                let images_msg = |done: usize, total: usize| format!("{done}/{total} images");
                match event {
                    Event::Planned {
                        images: n,
                        pending_images,
                        bytes_to_copy,
                        ..
                    } => {
                        images.store(*n, Ordering::Relaxed);
                        done.store(n - pending_images, Ordering::Relaxed);
                        let left = bytes_to_copy.saturating_sub(skipped.load(Ordering::Relaxed));
                        bar.set_length(left.max(bar.position()));
                        bar.set_message(images_msg(n - pending_images, *n));
                    }
                    Event::BlobBytes { bytes, .. } => bar.inc(*bytes),
                    // A blob planned as copy-if-missing that was there after all.
                    Event::BlobFinished {
                        size,
                        outcome: BlobOutcome::Skipped,
                        ..
                    } => {
                        skipped.fetch_add(*size, Ordering::Relaxed);
                        let left = bar.length().unwrap_or(0).saturating_sub(*size);
                        bar.set_length(left.max(bar.position()));
                    }
                    Event::ImageFinished {
                        already_present: false,
                        ..
                    } => {
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        bar.set_message(images_msg(d, images.load(Ordering::Relaxed)));
                    }
                    Event::ImageFailed { .. } | Event::Retry { .. } | Event::BlobFailed { .. } => {
                        bar.suspend(|| log_line(event));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// One line per event worth a line.
fn log_line(event: &Event) {
    match event {
        Event::Planning { images } => eprintln!("planning {images} images"),
        Event::Planned {
            images,
            pending_images,
            blobs,
            bytes_to_copy,
        } => eprintln!(
            "planned {images} images ({pending_images} to write), {blobs} blobs, up to {} to copy",
            bytes(*bytes_to_copy)
        ),
        Event::ImageFinished {
            name,
            destination,
            already_present,
        } => {
            if *already_present {
                eprintln!("present {name} {destination}");
            } else {
                eprintln!("mirrored {name} {destination}");
            }
        }
        Event::ImageFailed {
            name,
            destination,
            error,
        } => eprintln!("failed {name} {destination}: {error}"),
        Event::BlobFailed {
            digest,
            destination,
            error,
        } => eprintln!("failed blob {digest} to {destination}: {error}"),
        Event::Retry {
            what,
            attempt,
            error,
            wait,
        } => eprintln!(
            "retrying {what} (attempt {attempt}) in {:.1} s: {error}",
            wait.as_secs_f64()
        ),
        Event::Finished {
            duration,
            failed_images,
        } => eprintln!(
            "finished in {:.1} s, {failed_images} image(s) failed",
            duration.as_secs_f64()
        ),
        _ => {}
    }
}
