//! [`StreamBuilder`]: composing a [`Stream`](super::Stream) in code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use okd_coreos::overrides::Override;
use okd_gating::{
    GatingPolicy, JobCommand, JobRunner, PublishRule, PublishTarget, Publisher, VerifyJob,
};
use okd_oci::Store;
use okd_oci::registry::RegistryOptions;

mod build;

pub use build::open_location;

use super::jobs::CheckProgram;
use super::{
    Check, MirrorStage, OsLayering, ReleaseFormat, StoreLocation, StreamError, Target,
    UpstreamSource, VersionScheme,
};

/// Which time is written into a candidate release image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreatedFrom {
    /// The time of the tick that decided to create it (what the release-controller does).
    #[default]
    Tick,
    /// The upstream release's creation time: the same inputs give the same release (version and
    /// digest) whenever and wherever they are built.
    Inputs,
}

/// What a job runs.
#[derive(Debug, Clone)]
enum JobAction {
    Command(JobCommand),
    Check(Check),
    Runner,
    /// Nothing runs it here: shown as not run.
    Nothing,
}

/// What runs a prow job on this machine: a built-in payload check or a command.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerAction {
    /// A built-in payload check.
    Check(Check),
    /// A command.
    Command(JobCommand),
}

/// A promotion: where accepted releases are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promotion {
    /// Point this tag of the release repository at the newest accepted release.
    Tag(String),
    /// Copy the newest accepted release into this repository (in the stream's namespace),
    /// tagged with its version.
    Repository(String),
}

/// Builds a [`Stream`](super::Stream). Only the name and the upstream are required.
///
/// Defaults: an OCI layout at `target/okd-streams` as store, namespace `okd`, the dated version
/// scheme, no OS layering, no mirror, no jobs (every release is accepted once created), state
/// in memory, jobs as local commands with logs in the system temp directory.
///
/// Local jobs reach registries with the stream's credentials: when the registry options name an
/// auth file ([`RegistryOptions::auth_file`], what `okd-streams --authfile` sets), every job
/// gets its absolute path in `REGISTRY_AUTH_FILE`, the variable skopeo, podman, oc and the
/// built-in checks read — unless the job's command sets `REGISTRY_AUTH_FILE` itself
/// ([`JobCommand::env`]). Only the path is passed on, never the file's content.
#[derive(Debug)]
pub struct StreamBuilder {
    name: String,
    upstream: Option<UpstreamSource>,
    os: Option<OsLayering>,
    arch: super::ReleaseArch,
    overrides: Vec<Override>,
    scheme: VersionScheme,
    created_from: CreatedFrom,
    format: Option<ReleaseFormat>,
    location: StoreLocation,
    store: Option<Arc<dyn Store>>,
    namespace: String,
    public_host: Option<String>,
    mirror: Option<Arc<dyn MirrorStage>>,
    release_mirror: Option<super::mirror::ReleaseMirrorStage>,
    policy: Option<GatingPolicy>,
    max_unready: u32,
    min_interval: Duration,
    expires: Option<Duration>,
    jobs: Vec<(VerifyJob, JobAction)>,
    /// What runs periodics and sampled upgrades, by prow job.
    prow_jobs: Vec<(String, JobAction)>,
    no_upgrade_source: okd_gating::NoUpgradeSource,
    promotions: Vec<(String, Promotion)>,
    runner: Option<Arc<dyn JobRunner>>,
    state_dir: Option<PathBuf>,
    log_dir: Option<PathBuf>,
    signing: Option<super::SigningFile>,
    publisher: Option<Arc<dyn Publisher>>,
    registry_options: RegistryOptions,
    insecure: Vec<String>,
    check_program: Option<CheckProgram>,
    creation_attempts: u32,
    allow_missing_images: bool,
    content_repository: Option<String>,
    errors: Vec<StreamError>,
}

impl StreamBuilder {
    /// A stream called `name` (the release-controller's stream name, e.g. `4.19.0-0.okd-scos`).
    pub fn new(name: &str) -> StreamBuilder {
        StreamBuilder {
            name: name.to_string(),
            upstream: None,
            os: None,
            arch: super::ReleaseArch::Single,
            overrides: Vec::new(),
            scheme: VersionScheme::Dated,
            created_from: CreatedFrom::Tick,
            format: None,
            location: StoreLocation::Layout {
                path: PathBuf::from("target/okd-streams"),
            },
            store: None,
            namespace: "okd".to_string(),
            public_host: None,
            mirror: None,
            release_mirror: None,
            policy: None,
            max_unready: 1,
            min_interval: Duration::ZERO,
            expires: None,
            jobs: Vec::new(),
            prow_jobs: Vec::new(),
            no_upgrade_source: okd_gating::NoUpgradeSource::default(),
            promotions: Vec::new(),
            runner: None,
            state_dir: None,
            log_dir: None,
            signing: None,
            publisher: None,
            registry_options: RegistryOptions::default(),
            insecure: Vec::new(),
            check_program: None,
            creation_attempts: 3,
            allow_missing_images: false,
            content_repository: None,
            errors: Vec::new(),
        }
    }

    fn keep<T>(&mut self, r: Result<T, StreamError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// The upstream payload.
    pub fn upstream(mut self, source: UpstreamSource) -> Self {
        self.upstream = Some(source);
        self
    }

    /// The upstream payload: one release image (`docker://…` or `oci:…`).
    pub fn upstream_image(mut self, reference: &str) -> Self {
        self.upstream = self.keep(UpstreamSource::image(reference));
        self
    }

    /// The upstream payload: the newest tag of `repository` matching the glob `pattern`.
    pub fn upstream_newest(mut self, repository: &str, pattern: &str) -> Self {
        self.upstream = self.keep(UpstreamSource::newest(repository, pattern));
        self
    }

    /// The operating system: variant and layering.
    pub fn os(mut self, os: OsLayering) -> Self {
        self.os = Some(os);
        self
    }

    /// The architectures releases are built for (default: single-arch, see
    /// [`super::arch`]).
    pub fn arch(mut self, arch: super::ReleaseArch) -> Self {
        self.arch = arch;
        self
    }

    /// Points payload tag `name` at `pullspec` (`oc adm release new name=pullspec`).
    pub fn override_image(mut self, name: &str, pullspec: &str) -> Self {
        if let Some(o) = self.keep(Override::new(name, pullspec).map_err(StreamError::from)) {
            self.overrides.push(o);
        }
        self
    }

    /// How releases are named.
    pub fn version_scheme(mut self, scheme: VersionScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Which time is written into release images.
    pub fn created_from(mut self, created_from: CreatedFrom) -> Self {
        self.created_from = created_from;
        self
    }

    /// How release images are written (default: [`ReleaseFormat::default_for`] the store).
    pub fn release_format(mut self, format: ReleaseFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// The target store: `oci:PATH` or `docker://HOST[:PORT][/PREFIX]`.
    pub fn store(mut self, location: &str) -> Self {
        if let Some(l) = self.keep(location.parse()) {
            self.location = l;
        }
        self
    }

    /// A store object of your own for the target (a [`okd_oci::MemoryStore`], a store with
    /// special options); `location` still names it in pullspecs.
    pub fn store_instance(mut self, location: StoreLocation, store: Arc<dyn Store>) -> Self {
        self.location = location;
        self.store = Some(store);
        self
    }

    /// The namespace of the stream's repositories (default `okd`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_string();
        self
    }

    /// The registry host public pullspecs of the stream's images name.
    pub fn public_host(mut self, host: &str) -> Self {
        self.public_host = Some(host.to_string());
        self
    }

    /// Mirrors each candidate before it is verified.
    pub fn mirror(mut self, stage: Arc<dyn MirrorStage>) -> Self {
        self.mirror = Some(stage);
        self
    }

    /// Mirrors each candidate with okd-mirror, using the stream's registry options.
    pub fn mirror_release(mut self, stage: super::mirror::ReleaseMirrorStage) -> Self {
        self.release_mirror = Some(stage);
        self
    }

    /// Replaces the gating policy (its name must be the stream's). Jobs, limits and promotions
    /// set on this builder are added to it.
    pub fn policy(mut self, policy: GatingPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// `maxUnreadyReleases` (default 1, as every OKD stream has it; 0: no limit).
    pub fn max_unready_releases(mut self, n: u32) -> Self {
        self.max_unready = n;
        self
    }

    /// `minCreationIntervalSeconds`.
    pub fn min_creation_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// `expires`: accepted releases beyond the five newest are removed after this.
    pub fn expires(mut self, expires: Duration) -> Self {
        self.expires = Some(expires);
        self
    }

    /// A verification job running `command` (its prow job name is the job name unless set).
    pub fn job(mut self, job: VerifyJob, command: JobCommand) -> Self {
        self.jobs.push((job, JobAction::Command(command)));
        self
    }

    /// A verification job that the runner given with [`StreamBuilder::runner`] knows how to run.
    pub fn runner_job(mut self, job: VerifyJob) -> Self {
        self.jobs.push((job, JobAction::Runner));
        self
    }

    /// An informing verification job nothing runs here (a Prow job with no local runner): it is
    /// never started and shown as "not run: no runner".
    pub fn unrunnable_job(mut self, job: VerifyJob) -> Self {
        self.jobs.push((job, JobAction::Nothing));
        self
    }

    /// What runs prow job `prow_job` for runs that are not verification jobs of the policy:
    /// periodics and a Stable stream's sampled upgrades.
    pub fn prow_job_runs(mut self, prow_job: &str, action: RunnerAction) -> Self {
        let action = match action {
            RunnerAction::Check(c) => JobAction::Check(c),
            RunnerAction::Command(c) => JobAction::Command(c),
        };
        self.prow_jobs.push((prow_job.to_string(), action));
        self
    }

    /// Nothing runs prow job `prow_job` here: periodics and sampled upgrades running it are
    /// shown as "not run: no runner".
    pub fn prow_job_unrunnable(mut self, prow_job: &str) -> Self {
        self.prow_jobs
            .push((prow_job.to_string(), JobAction::Nothing));
        self
    }

    /// What an upgrade job with no release to upgrade from does (default: not run, a blocking
    /// one keeps the release Ready, as in the release-controller).
    pub fn no_upgrade_source(mut self, rule: okd_gating::NoUpgradeSource) -> Self {
        self.no_upgrade_source = rule;
        self
    }

    /// A verification job running one of the built-in payload [`Check`]s.
    pub fn check_job(mut self, job: VerifyJob, check: Check) -> Self {
        self.jobs.push((job, JobAction::Check(check)));
        self
    }

    /// The program payload checks are run with: `program args… --check NAME …`. Default: this
    /// executable with `stream verify`, which is right for the `okd-streams` binary; a program of
    /// your own calls [`super::jobs::run_verify_args`] when it sees its own arguments.
    pub fn check_program(mut self, program: impl Into<PathBuf>, args: &[&str]) -> Self {
        self.check_program = Some(CheckProgram {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    /// Publishes the newest accepted release (`publish` step `rule`).
    pub fn promote(mut self, rule: &str, promotion: Promotion) -> Self {
        self.promotions.push((rule.to_string(), promotion));
        self
    }

    /// Runs jobs with `runner` instead of local commands. Such a runner is used as it is: the
    /// stream does not hand it `REGISTRY_AUTH_FILE` (see
    /// [`CommandJobRunner::with_env`](okd_gating::CommandJobRunner::with_env)).
    pub fn runner(mut self, runner: Arc<dyn JobRunner>) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Keeps state in `dir`: `gating.json` (okd-gating's file store, locked while the stream is
    /// open), `ledger.json`, and job logs under `logs/`.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Signs every promoted release with this key into `signatures/` of the state directory
    /// (see [`super::signing`]); needs a state directory.
    pub fn signing(mut self, signing: super::SigningFile) -> Self {
        self.signing = Some(signing);
        self
    }

    /// Where local jobs write their logs (default: `logs/` of the state directory).
    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }

    /// Publishes with `publisher` instead of tagging in the target store.
    pub fn publisher(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Registry options for every registry the stream reads or writes, upstream included. Their
    /// auth file, if any, is also handed to local jobs as `REGISTRY_AUTH_FILE`. Hosts already
    /// marked insecure on this builder (a stream file's `insecure_registries:`) stay insecure.
    pub fn registry_options(mut self, options: RegistryOptions) -> Self {
        let mut options = options;
        for h in &self.insecure {
            options = options.insecure_registry(h.clone());
        }
        self.registry_options = options;
        self
    }

    /// Reaches `host` without TLS verification (and passes that on to check jobs).
    pub fn insecure_registry(mut self, host: &str) -> Self {
        self.registry_options = self.registry_options.insecure_registry(host);
        self.insecure.push(host.to_string());
        self
    }

    /// Lets operator manifests name payload tags the release lacks (`oc adm release new
    /// --allow-missing-images`), as a payload whose OS variant was swapped needs until its
    /// machine-config-operator is built for the new variant.
    pub fn allow_missing_images(mut self, allow: bool) -> Self {
        self.allow_missing_images = allow;
        self
    }

    /// Copies every component of each release into repository `name` of the stream's
    /// namespace while the release is built, and names them there (`oc adm release new
    /// --mirror`), so that released payloads reference the stream's own repositories. The
    /// components must be named by digest.
    pub fn content_repository(mut self, name: &str) -> Self {
        if !okd_oci::is_valid_repository(name) {
            let e = self.invalid(
                "publish.content_repository",
                format!("{name:?} is not a repository name"),
            );
            self.errors.push(e);
        }
        self.content_repository = Some(name.to_string());
        self
    }

    /// How often a candidate that fails to build is tried before it is marked Failed
    /// (default 3).
    pub fn creation_attempts(mut self, n: u32) -> Self {
        self.creation_attempts = n.max(1);
        self
    }

    fn invalid(&self, field: impl Into<String>, message: impl Into<String>) -> StreamError {
        StreamError::invalid(&self.name, field, message)
    }

    fn policy_for(&self, release_repo: &str, target: &Target) -> Result<GatingPolicy, StreamError> {
        let mut policy = match &self.policy {
            Some(p) if p.name != self.name => {
                return Err(self.invalid(
                    "policy",
                    format!("the policy is for stream {}, not {}", p.name, self.name),
                ));
            }
            Some(p) => p.clone(),
            None => {
                let mut b = GatingPolicy::builder(&self.name)
                    .target(release_repo)
                    .max_unready_releases(self.max_unready)
                    .min_creation_interval(self.min_interval);
                if let Some(e) = self.expires {
                    b = b.expires(e);
                }
                b.build()?
            }
        };
        if policy.target.is_empty() {
            policy.target = release_repo.to_string();
        }
        for (job, _) in &self.jobs {
            if policy.job(&job.name).is_some() {
                return Err(self.invalid(format!("jobs.{}", job.name), "the job is defined twice"));
            }
            policy.jobs.push(job.clone());
        }
        for (rule, promotion) in &self.promotions {
            let target_of = match promotion {
                Promotion::Tag(tag) => PublishTarget::Tag { tag: tag.clone() },
                Promotion::Repository(repo) => PublishTarget::ReleaseCopy {
                    repository: target.repository(repo),
                },
            };
            policy.publish.push(PublishRule {
                name: rule.clone(),
                disabled: false,
                target: target_of,
            });
        }
        policy.jobs.sort_by(|a, b| a.name.cmp(&b.name));
        policy.publish.sort_by(|a, b| a.name.cmp(&b.name));
        policy.no_upgrade_source = self.no_upgrade_source;
        policy.validate()?;
        Ok(policy)
    }

    /// Where the stream will write (store location, namespace, public host), without opening
    /// anything.
    pub fn target(&self) -> Target {
        let mut target = Target::new(self.location.clone(), &self.namespace);
        if let Some(h) = &self.public_host {
            target.public_host = h.clone();
        }
        target
    }

    /// The gating policy the stream will run, without opening its stores or taking its state's
    /// lock: what readers next to a running stream (servers, reports) need.
    pub fn gating_policy(&self) -> Result<GatingPolicy, StreamError> {
        if let Some(e) = self.errors.first() {
            return Err(self.invalid("", e.to_string()));
        }
        let target = self.target();
        self.policy_for(&target.repository("release"), &target)
    }

    /// The state directory, when the stream keeps its state in files.
    pub fn state_directory(&self) -> Option<&std::path::Path> {
        self.state_dir.as_deref()
    }
}
