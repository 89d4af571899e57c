//! What a tick did: [`TickReport`], printable as the lines `okd-streams stream run` shows.

use std::fmt;

use chrono::{DateTime, Utc};
use okd_gating::{RunState, Transition};

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
    pub errors: Vec<String>,
    /// Runs still going after the tick.
    pub running: usize,
    /// Releases still undecided (Pending or Ready) after the tick.
    pub undecided: Vec<String>,
    /// Tick again at this time at the latest (a retry backoff or the creation interval ends).
    pub wake_at: Option<DateTime<Utc>>,
}

impl TickReport {
    /// True when nothing is in flight: no run going, no release undecided.
    pub fn is_idle(&self) -> bool {
        self.running == 0 && self.undecided.is_empty()
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
        self.running = later.running;
        self.undecided = later.undecided;
        self.wake_at = later.wake_at;
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
        Ok(())
    }
}
