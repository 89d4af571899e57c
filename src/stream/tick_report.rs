//! What a tick did: [`TickReport`], printable as the lines `okd-streams stream run` shows.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use okd_gating::{Publication, PublishAction, PublishOutcome, RunState, Transition};

use super::StreamError;

/// A release a tick created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its version.
    pub name: String,
    /// Its manifest digest.
    pub digest: String,
    /// Where it is (store reference by digest).
    pub image: String,
    /// The layered OS image, when the stream layers its OS.
    pub os_image: Option<String>,
    /// The lint's warnings on its OS layers.
    pub os_lint: Vec<String>,
    /// What the mirror stage reported.
    pub mirrored: Option<String>,
    /// True when it was planned by an earlier, interrupted tick.
    pub resumed: bool,
}

/// A publication a tick made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The publish step.
    pub rule: String,
    /// The release.
    pub release: String,
    /// Repository and tag written.
    pub target: String,
    /// Manifest digest.
    pub digest: String,
    /// True when the tag was already in place (an interrupted tick had made it).
    pub already: bool,
}

/// The part of a tick a [`TickError`] happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TickStage {
    /// Building (or rebuilding) a candidate release.
    Create,
    /// Polling the job runs in flight.
    Poll,
    /// Resolving the current inputs.
    Detect,
    /// Deciding a new candidate's version and writing its OS image.
    Plan,
    /// Starting job runs.
    Start,
    /// Publishing an accepted release.
    Publish,
    /// Removing the tags of collected releases.
    Collect,
}

impl TickStage {
    /// The stage's name: `create`, `poll`, `detect`, `plan`, `start`, `publish`, `collect`.
    pub fn name(self) -> &'static str {
        match self {
            TickStage::Create => "create",
            TickStage::Poll => "poll",
            TickStage::Detect => "detect",
            TickStage::Plan => "plan",
            TickStage::Start => "start",
            TickStage::Publish => "publish",
            TickStage::Collect => "collect",
        }
    }
}

impl fmt::Display for TickStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A problem that did not stop a tick (an unreachable upstream, a failed build attempt): the
/// stage it happened in and the error itself, kept typed for a caller that wants to tell them
/// apart. It displays as the error does, which is what `stream run` prints.
#[derive(Debug, Clone)]
pub struct TickError {
    stage: TickStage,
    // Shared so that reports can be cloned and merged; errors themselves are not `Clone`.
    error: Arc<StreamError>,
}

impl TickError {
    /// An error of `stage`.
    pub fn new(stage: TickStage, error: impl Into<StreamError>) -> TickError {
        TickError {
            stage,
            error: Arc::new(error.into()),
        }
    }

    /// Where it happened.
    pub fn stage(&self) -> TickStage {
        self.stage
    }

    /// The error.
    pub fn error(&self) -> &StreamError {
        &self.error
    }
}

impl fmt::Display for TickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// Transparent, as `#[error(transparent)]` is: the message and the cause are the error's, so a
/// printer of the whole chain does not repeat the message.
impl std::error::Error for TickError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.error.as_ref())
    }
}

/// Two reports are equal when they tell the same: the same stage and the same message.
impl PartialEq for TickError {
    fn eq(&self, other: &TickError) -> bool {
        self.stage == other.stage && self.error.to_string() == other.error.to_string()
    }
}

impl Eq for TickError {}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// The stream.
    pub stream: String,
    /// The tick's time.
    pub at: Option<DateTime<Utc>>,
    /// The upstream release image found (by digest).
    pub upstream: Option<String>,
    /// Hash of the current inputs.
    pub inputs_hash: Option<String>,
    /// The release created.
    pub created: Option<Created>,
    /// Phase changes.
    pub transitions: Vec<Transition>,
    /// Job runs started (run names).
    pub started: Vec<String>,
    /// Job runs that finished, with how.
    pub finished: Vec<(String, RunState)>,
    /// Runs started again because the process that ran them is gone.
    pub restarted: Vec<String>,
    /// Publications.
    pub published: Vec<Published>,
    /// Releases removed by garbage collection.
    pub removed: Vec<String>,
    /// Problems that did not stop the tick (an unreachable upstream, a failed build attempt).
    pub errors: Vec<TickError>,
    /// Things done other than asked, said out loud (a listed component tag a published release
    /// does not have).
    pub warnings: Vec<String>,
    /// Runs still going after the tick.
    pub running: usize,
    /// Releases still undecided (Pending or Ready) after the tick.
    pub undecided: Vec<String>,
    /// Tick again at this time at the latest (a retry backoff or the creation interval ends).
    pub wake_at: Option<DateTime<Utc>>,
    /// Every undecided release is held only by jobs that cannot be started (not run, see
    /// `stream status`): ticking again changes nothing until something outside does.
    pub stalled: bool,
}

impl TickReport {
    /// Adds what publishing `action` did: one line per tag written or found in place, and a
    /// warning (also logged) for every listed component tag the release lacks.
    pub(crate) fn record_publication(
        &mut self,
        action: &PublishAction,
        record: &Publication,
        outcome: &PublishOutcome,
    ) {
        let line = |target: String, digest: String, already: bool| Published {
            rule: action.rule.clone(),
            release: action.release.clone(),
            target,
            digest,
            already,
        };
        match outcome {
            PublishOutcome::Published { .. } | PublishOutcome::AlreadyPublished { .. } => {
                self.published.push(line(
                    format!("{}:{}", record.repository, record.tag),
                    record.digest.clone().unwrap_or_default(),
                    matches!(outcome, PublishOutcome::AlreadyPublished { .. }),
                ));
            }
            PublishOutcome::Components {
                repository,
                tags,
                missing,
            } => {
                for t in tags {
                    self.published.push(line(
                        format!("{repository}:{}", t.name),
                        t.digest.to_string(),
                        !t.written,
                    ));
                }
                for tag in missing {
                    let warning = format!(
                        "publish step {}: tag {tag} should be published from release {} to \
                         {repository}, but the release has no component {tag}",
                        action.rule, action.release
                    );
                    tracing::warn!("{warning}");
                    self.warnings.push(warning);
                }
            }
        }
    }

    /// True when nothing can progress without a change from outside: no run going, and either
    /// no release undecided or the last tick could start nothing (a release kept Ready by a job
    /// that cannot run, such as an upgrade job with no source).
    pub fn is_idle(&self) -> bool {
        self.running == 0 && (self.undecided.is_empty() || self.stalled)
    }

    /// Adds what `later` did to this report (for a report covering several ticks).
    pub fn absorb(&mut self, later: TickReport) {
        self.at = later.at.or(self.at);
        self.upstream = later.upstream.or(self.upstream.take());
        self.inputs_hash = later.inputs_hash.or(self.inputs_hash.take());
        if later.created.is_some() {
            self.created = later.created;
        }
        self.transitions.extend(later.transitions);
        self.started.extend(later.started);
        self.finished.extend(later.finished);
        self.restarted.extend(later.restarted);
        self.published.extend(later.published);
        self.removed.extend(later.removed);
        self.errors.extend(later.errors);
        self.warnings.extend(later.warnings);
        self.running = later.running;
        self.undecided = later.undecided;
        self.wake_at = later.wake_at;
        self.stalled = later.stalled;
    }
}

impl fmt::Display for TickReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "stream {}", self.stream)?;
        if let Some(u) = &self.upstream {
            writeln!(f, "  upstream   {u}")?;
        }
        if let Some(c) = &self.created {
            let resumed = if c.resumed { " (resumed)" } else { "" };
            writeln!(f, "  created    {} {}{resumed}", c.name, c.digest)?;
            if let Some(os) = &c.os_image {
                writeln!(f, "  os image   {os}")?;
            }
            for w in &c.os_lint {
                writeln!(f, "  os lint    {w}")?;
            }
            if let Some(m) = &c.mirrored {
                writeln!(f, "  mirrored   {m}")?;
            }
        }
        for r in &self.restarted {
            writeln!(f, "  restarted  {r}")?;
        }
        for s in &self.started {
            writeln!(f, "  started    {s}")?;
        }
        for (r, s) in &self.finished {
            writeln!(f, "  finished   {r}: {s:?}")?;
        }
        for t in &self.transitions {
            let why = t.reason.as_deref().unwrap_or("");
            writeln!(
                f,
                "  phase      {} {:?} -> {:?} {why}",
                t.release, t.from, t.to
            )?;
        }
        for p in &self.published {
            let already = if p.already { " (already there)" } else { "" };
            writeln!(
                f,
                "  published  {} -> {} ({}){already}",
                p.release, p.target, p.rule
            )?;
        }
        for r in &self.removed {
            writeln!(f, "  removed    {r}")?;
        }
        for e in &self.errors {
            writeln!(f, "  error      {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning    {w}")?;
        }
        if self.stalled && !self.undecided.is_empty() {
            // Said out loud: these stay undecided until something outside changes.
            writeln!(
                f,
                "  waiting    {}: held by jobs that cannot start (see stream status)",
                self.undecided.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_error() -> StreamError {
        StreamError::Oci(okd_oci::Error::ManifestNotFound {
            location: "quay.io".into(),
            repo: "okd/scos".into(),
            reference: ":scos-4.19".into(),
        })
    }

    #[test]
    fn a_tick_error_keeps_its_stage_and_source_and_prints_as_before() {
        let e = TickError::new(TickStage::Publish, store_error());
        assert_eq!(e.stage(), TickStage::Publish);
        assert!(matches!(
            e.error(),
            StreamError::Oci(okd_oci::Error::ManifestNotFound { .. })
        ));
        assert_eq!(e.to_string(), store_error().to_string());
        let report = TickReport {
            stream: "s".into(),
            errors: vec![e.clone()],
            ..TickReport::default()
        };
        assert_eq!(
            report.to_string(),
            format!("stream s\n  error      {}\n", store_error())
        );
        assert_eq!(e, TickError::new(TickStage::Publish, store_error()));
        assert_ne!(e, TickError::new(TickStage::Collect, store_error()));
    }
}
