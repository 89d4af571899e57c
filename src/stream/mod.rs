//! Composing an OKD stream: an upstream payload, a CoreOS variant with its layering, overrides,
//! a version scheme, a mirror, a gating policy and promotions — run one round at a time.
//!
//! A [`Stream`] is built with [`StreamBuilder`] or read from a YAML stream file
//! ([`StreamFile`], one to one with the builder). [`Stream::tick`] does one round, in the
//! release-controller's order: detect changed inputs (a hash of the upstream digest, the OS
//! image inputs and the overrides) → assemble a candidate (okd-release's builder on the upstream
//! release with the OS overrides, at a fixed creation time) → mirror → start and poll jobs →
//! decide (okd-gating's pure core) → publish → collect garbage, and returns a [`TickReport`].
//!
//! State lives in okd-gating's [`StateStore`] and in the stream's
//! [`Ledger`]. The candidate's version and inputs are recorded before it is built, so a process
//! killed at any point resumes on the next tick without a second release, and rebuilds the same
//! digest; promotions are idempotent.
//!
//! ```no_run
//! # async fn demo() -> Result<(), okd_streams::stream::StreamError> {
//! use okd_streams::coreos::{Variant, layer_source::FileListSource};
//! use okd_streams::gating::VerifyJob;
//! use okd_streams::stream::{Check, OsLayering, Promotion, StreamBuilder, TickContext};
//!
//! let stream = StreamBuilder::new("4.19.0-0.okd-scos")
//!     .upstream_newest("docker://quay.io/okd/scos-release", "4.19.0-okd-scos.*")
//!     .os(OsLayering::new(Variant::Scos)
//!         .layer(FileListSource::new().bytes("etc/motd", b"my OKD\n".to_vec(), 0o644)))
//!     .store("oci:target/my-okd")
//!     .check_job(VerifyJob::blocking("images", "images"), Check::Images)
//!     .promote("next", Promotion::Repository("4-scos-next".into()))
//!     .state_dir("target/my-okd-state")
//!     .build().await?;
//! let report = stream.run_until_idle(&TickContext::now()).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod adopt;
pub mod arch;
pub mod builder;
mod candidate;
pub mod checks;
mod error;
pub mod export;
pub mod file;
pub mod format;
pub mod jobs;
mod manifest_list;
pub mod mirror;
mod multi_arch;
pub mod os;
pub mod publish;
mod publish_components;
mod sampled_sources;
#[cfg(feature = "schema")]
pub mod schema;
pub mod signing;
pub mod source;
pub mod stages;
pub mod state;
mod status;
pub mod target;
pub mod tick;
mod tick_report;
pub mod version_scheme;

use std::path::PathBuf;
use std::sync::Arc;

use okd_coreos::overrides::Override;
use okd_gating::{GatingPolicy, JobRunner, Publisher, StateStore};
use okd_oci::{Store, StoreMap};

pub use adopt::Adopted;
pub use arch::ReleaseArch;
pub use builder::{CreatedFrom, Promotion, RunnerAction, StreamBuilder};
pub use checks::{Check, CheckInput, verify};
pub use error::StreamError;
pub use file::StreamFile;
pub use format::ReleaseFormat;
pub use mirror::{MirrorRequest, MirrorStage};
pub use os::{OsBase, OsLayering};
pub use publish::StorePublisher;
pub use signing::{ReleaseSigner, SigningFile};
pub use source::{ResolvedUpstream, UpstreamSource};
pub use stages::{JobOutcome, StageOutcome};
pub use state::{Candidate, FileLedger, Inputs, Intent, Ledger, LedgerStore, MemoryLedger};
pub use status::{BuiltRelease, JobLine, PeriodicLine, ReleaseStatus, StreamHistory, StreamStatus};
pub use target::{StoreLocation, Target};
pub use tick::{Created, Published, TickContext, TickReport};
pub use version_scheme::VersionScheme;

/// A composed stream. See the [module docs](self).
#[derive(Debug)]
pub struct Stream {
    policy: GatingPolicy,
    upstream: UpstreamSource,
    os: Option<OsLayering>,
    arch: ReleaseArch,
    overrides: Vec<Override>,
    scheme: VersionScheme,
    created_from: CreatedFrom,
    format: ReleaseFormat,
    target: Target,
    store: Arc<dyn Store>,
    upstream_store: Arc<dyn Store>,
    sources: StoreMap,
    mirror: Option<Arc<dyn MirrorStage>>,
    runner: Arc<dyn JobRunner>,
    state: Arc<dyn StateStore>,
    ledger: Arc<dyn LedgerStore>,
    publisher: Arc<dyn Publisher>,
    creation_attempts: u32,
    job_commands: std::collections::BTreeMap<String, okd_gating::JobCommand>,
    /// Informing jobs nothing runs here: never started, shown as not run.
    unrunnable: std::collections::BTreeSet<String>,
    allow_missing_images: bool,
    /// The repository (in the namespace) releases mirror their content into.
    content_repository: Option<String>,
    log_dir: PathBuf,
    signer: Option<Arc<ReleaseSigner>>,
    /// Where the MachineConfig of each release is written (`<state>/machine-configs`).
    machine_config_dir: Option<PathBuf>,
}

impl Stream {
    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.policy.name
    }

    /// Its gating policy.
    pub fn policy(&self) -> &GatingPolicy {
        &self.policy
    }

    /// Its upstream.
    pub fn upstream(&self) -> &UpstreamSource {
        &self.upstream
    }

    /// Its target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The target store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Where component images are read: the stream's one store map.
    pub fn sources(&self) -> &StoreMap {
        &self.sources
    }

    /// The store repository of candidate releases.
    pub fn release_repository(&self) -> String {
        self.target.repository("release")
    }

    /// The store repository of the layered OS images, when the stream layers its OS.
    pub fn os_repository(&self) -> Option<String> {
        self.os
            .as_ref()
            .filter(|o| !o.is_plain())
            .map(|o| self.target.repository(&o.variant().payload_tags().os))
    }

    /// The architectures releases are built for.
    pub fn arch(&self) -> &ReleaseArch {
        &self.arch
    }

    /// The version scheme.
    pub fn version_scheme(&self) -> &VersionScheme {
        &self.scheme
    }

    /// True when candidates are mirrored before they are verified.
    pub fn has_mirror(&self) -> bool {
        self.mirror.is_some()
    }

    /// The command of each job run as a local command (built-in checks included), by job name.
    pub fn job_commands(&self) -> &std::collections::BTreeMap<String, okd_gating::JobCommand> {
        &self.job_commands
    }

    /// Where the MachineConfig of each release is written, `<dir>/<release>/<name>.yaml`, when
    /// the stream has a state directory.
    pub fn machine_config_dir(&self) -> Option<&std::path::Path> {
        self.machine_config_dir.as_deref()
    }

    /// Where local jobs write their logs.
    pub fn log_dir(&self) -> &std::path::Path {
        &self.log_dir
    }
}
