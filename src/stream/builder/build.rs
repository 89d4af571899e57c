//! [`StreamBuilder::build`]: every setting checked, then the stores, state, job commands and
//! runner opened once, in that order, so that an invalid setting opens nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use okd_gating::{
    CommandJobRunner, FileStateStore, JobCommand, JobRunner, MemoryStateStore, Publisher,
    StateStore,
};
use okd_oci::registry::REGISTRIES_CONF_ENV;
use okd_oci::{Access, ImageRef, Store, StoreKey, StoreMap};

use super::{JobAction, StreamBuilder};
use crate::stream::jobs::{CheckProgram, JobAccess, REGISTRY_AUTH_FILE};
use crate::stream::{
    FileLedger, LedgerStore, MemoryLedger, MirrorStage, ReleaseArch, ReleaseFormat, StoreLocation,
    StorePublisher, Stream, StreamError, Target, UpstreamSource,
};

/// The stores a stream works with: where releases go, where the upstream payload is read, and
/// the map that finds every other image through them.
struct Stores {
    store: Arc<dyn Store>,
    upstream_store: Arc<dyn Store>,
    sources: StoreMap,
}

/// Where the gating state, the ledger and the job logs are kept.
struct StateFiles {
    state: Arc<dyn StateStore>,
    ledger: Arc<dyn LedgerStore>,
    logs: PathBuf,
}

/// The commands jobs run here, and the jobs nothing runs here (shown as not run).
struct JobCommands {
    commands: BTreeMap<String, JobCommand>,
    unrunnable: BTreeSet<String>,
}

impl StreamBuilder {
    /// Opens the stores and state and returns the stream. Fails on the first invalid setting.
    pub async fn build(mut self) -> Result<Stream, StreamError> {
        self.first_error()?;
        let upstream = self
            .upstream
            .clone()
            .ok_or_else(|| self.invalid("upstream", "no upstream payload given"))?;
        if self.namespace.is_empty() || !okd_oci::is_valid_repository(&self.namespace) {
            return Err(self.invalid(
                "namespace",
                format!("{:?} is not a valid repository path", self.namespace),
            ));
        }
        let mut target = Target::new(self.location.clone(), &self.namespace);
        if let Some(h) = &self.public_host {
            target.public_host = h.clone();
        }
        let stores = self.open_stores(&target, &upstream).await?;
        let release_repo = target.repository("release");
        let policy = self.policy_for(&release_repo, &target)?;
        let files = self.open_state()?;
        let log_dir = self.log_dir.clone().unwrap_or(files.logs);
        let signer = self.signer()?;
        self.check_machine_config()?;
        self.check_arch()?;
        let jobs = self.job_commands(&stores.sources, &target, &upstream)?;
        let runner = self.runner_for(&log_dir, &jobs.commands)?;
        let publisher: Arc<dyn Publisher> = match &self.publisher {
            Some(p) => p.clone(),
            None => Arc::new(
                StorePublisher::new(stores.store.clone(), &release_repo)
                    .with_sources(stores.sources.clone()),
            ),
        };
        Ok(Stream {
            policy,
            upstream,
            os: self.os.take(),
            arch: self.arch.clone(),
            overrides: std::mem::take(&mut self.overrides),
            scheme: self.scheme.clone(),
            created_from: self.created_from,
            format: self
                .format
                .unwrap_or_else(|| ReleaseFormat::default_for(&self.location)),
            target,
            store: stores.store,
            upstream_store: stores.upstream_store,
            sources: stores.sources,
            mirror: match &self.release_mirror {
                Some(m) => Some(
                    Arc::new(m.clone().registry_options(self.registry_options.clone()))
                        as Arc<dyn MirrorStage>,
                ),
                None => self.mirror.clone(),
            },
            runner,
            state: files.state,
            ledger: files.ledger,
            publisher,
            creation_attempts: self.creation_attempts,
            job_commands: jobs.commands,
            unrunnable: jobs.unrunnable,
            allow_missing_images: self.allow_missing_images,
            content_repository: self.content_repository.clone(),
            log_dir,
            signer,
            machine_config_dir: self.state_dir.as_ref().map(|d| d.join("machine-configs")),
        })
    }

    /// The first setting a builder call refused, named by its field.
    fn first_error(&mut self) -> Result<(), StreamError> {
        let first = self.errors.drain(..).next();
        match first {
            None => Ok(()),
            Some(StreamError::Invalid { field, message, .. }) => Err(self.invalid(field, message)),
            Some(other) => Err(other),
        }
    }

    async fn open_stores(
        &self,
        target: &Target,
        upstream: &UpstreamSource,
    ) -> Result<Stores, StreamError> {
        let map = StoreMap::new(self.registry_options.clone());
        let store: Arc<dyn Store> = match &self.store {
            Some(s) => s.clone(),
            None => open_location(&map, &self.location, Access::Write).await?,
        };
        let upstream_store = map.store(upstream.reference(), Access::Read).await?;

        // Candidates name their images by the public host: read them from the target store.
        map.alias(&target.public_host, store.clone());
        if let StoreLocation::Layout { path } = &self.location {
            map.insert(StoreKey::layout(path), store.clone());
        }
        let sources = match upstream.reference() {
            ImageRef::Registry(r) => {
                map.alias(&r.registry, upstream_store.clone());
                map
            }
            // A layout holding the upstream payload acts as a mirror of every registry.
            ImageRef::Layout(_) => map.with_fallback(upstream_store.clone()),
        };
        Ok(Stores {
            store,
            upstream_store,
            sources,
        })
    }

    fn open_state(&self) -> Result<StateFiles, StreamError> {
        Ok(match &self.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| StreamError::io(dir, e))?;
                StateFiles {
                    state: Arc::new(FileStateStore::open(dir.join("gating.json"))?),
                    ledger: Arc::new(FileLedger::new(dir.join("ledger.json"))),
                    logs: dir.join("logs"),
                }
            }
            None => StateFiles {
                state: Arc::new(MemoryStateStore::new()),
                ledger: Arc::new(MemoryLedger::default()),
                logs: std::env::temp_dir().join(format!("okd-streams-logs-{}", std::process::id())),
            },
        })
    }

    /// The registries check jobs reach that are insecure: the ones named insecure, and those of
    /// the target, the upstream and the public host that the registry options mark insecure.
    fn insecure_hosts(&self, target: &Target, upstream: &UpstreamSource) -> Vec<String> {
        let mut insecure = self.insecure.clone();
        let hosts = [
            self.location.host().map(str::to_string),
            match upstream.reference() {
                ImageRef::Registry(r) => Some(r.registry.clone()),
                ImageRef::Layout(_) => None,
            },
            Some(target.public_host.clone()),
        ];
        for h in hosts.into_iter().flatten() {
            if self.registry_options.is_insecure(&h) && !insecure.contains(&h) {
                insecure.push(h);
            }
        }
        insecure
    }

    /// The command of every job and prow job that runs here. A runner job without a runner,
    /// and a blocking job nothing runs, are refused by name.
    fn job_commands(
        &self,
        sources: &StoreMap,
        target: &Target,
        upstream: &UpstreamSource,
    ) -> Result<JobCommands, StreamError> {
        let check_program = match self.check_program.clone() {
            Some(p) => p,
            None => CheckProgram::this_binary()?,
        };
        let cert_dir = self.registry_options.cert_dir_path();
        let access = JobAccess {
            insecure: self.insecure_hosts(target, upstream),
            // Absolute, because a job may run in another directory.
            cert_dir: cert_dir
                .map(|d| std::path::absolute(d).map_err(|e| StreamError::io(d, e)))
                .transpose()?,
        };
        let os_tag = self.os.as_ref().map(|o| o.variant().payload_tags().os);
        let os_images = self
            .os
            .as_ref()
            .filter(|o| !o.is_plain())
            .map(|o| target.repository(&o.variant().payload_tags().os))
            .map(|repo| self.location.image(&repo, None, None))
            .transpose()?;
        let command_of = |action: &JobAction| match action {
            JobAction::Command(c) => Some(c.clone()),
            JobAction::Check(check) => Some(check_program.command(
                *check,
                sources,
                &access,
                os_tag.clone(),
                os_images.clone(),
            )),
            JobAction::Runner | JobAction::Nothing => None,
        };
        let mut jobs = JobCommands {
            commands: BTreeMap::new(),
            unrunnable: BTreeSet::new(),
        };
        for (job, action) in &self.jobs {
            match action {
                JobAction::Runner if self.runner.is_none() => {
                    return Err(self.invalid(
                        format!("jobs.{}", job.name),
                        "a runner job needs a runner (StreamBuilder::runner)",
                    ));
                }
                JobAction::Nothing if job.gate == okd_gating::Gate::Blocking => {
                    return Err(self.invalid(
                        format!("jobs.{}", job.name),
                        "a blocking job needs something to run it",
                    ));
                }
                JobAction::Nothing => {
                    jobs.unrunnable.insert(job.name.clone());
                }
                _ => {}
            }
            if let Some(command) = command_of(action) {
                jobs.commands.insert(job.name.clone(), command);
            }
        }
        // Periodic and sampled runs are looked up by prow job (the runner falls back to it).
        for (prow_job, action) in &self.prow_jobs {
            if let JobAction::Nothing = action {
                jobs.unrunnable.insert(prow_job.clone());
            }
            if let Some(command) = command_of(action) {
                jobs.commands.entry(prow_job.clone()).or_insert(command);
            }
        }
        Ok(jobs)
    }

    /// The runner given, or one that runs each job's command and logs into `log_dir`.
    fn runner_for(
        &self,
        log_dir: &std::path::Path,
        commands: &BTreeMap<String, JobCommand>,
    ) -> Result<Arc<dyn JobRunner>, StreamError> {
        if let Some(r) = &self.runner {
            return Ok(r.clone());
        }
        let mut runner = CommandJobRunner::new(log_dir);
        // Jobs pulling from a private registry need the credentials the stream uses; absolute
        // because a job may run in another directory. A command's own REGISTRY_AUTH_FILE wins
        // over this one.
        if let Some(path) = self.registry_options.auth_file_path() {
            let path = std::path::absolute(path).map_err(|e| StreamError::io(path, e))?;
            runner = runner.with_env(REGISTRY_AUTH_FILE, path);
        }
        // The same for a registries.conf given as one file (mirrors, blocked and insecure
        // registries); one found by the standard search, jobs find themselves.
        let conf = self.registry_options.registries_conf_in_use();
        if let Some(path) = conf.and_then(|c| c.whole_file()) {
            let path = std::path::absolute(path).map_err(|e| StreamError::io(path, e))?;
            runner = runner.with_env(REGISTRIES_CONF_ENV, path);
        }
        Ok(Arc::new(commands.iter().fold(runner, |r, (name, c)| {
            r.with_command(name, c.clone())
        })))
    }
    /// A MachineConfig is checked, and has a state directory to be written to, before any
    /// release is built.
    fn check_machine_config(&self) -> Result<(), StreamError> {
        let Some((mc, _)) = self.os.as_ref().and_then(|o| o.machine_config()) else {
            return Ok(());
        };
        mc.validate()
            .map_err(|e| StreamError::invalid(&self.name, "os.machine_config", e.to_string()))?;
        if self.state_dir.is_none() {
            return Err(StreamError::invalid(
                &self.name,
                "os.machine_config",
                "MachineConfigs are written next to each release, in the state directory: set one",
            ));
        }
        Ok(())
    }

    /// A multi-arch stream layers each architecture's OS image itself; a Containerfile build
    /// runs on one architecture only.
    fn check_arch(&self) -> Result<(), StreamError> {
        if let ReleaseArch::Only(list) = &self.arch
            && list.is_empty()
        {
            return Err(self.invalid("arch", "name at least one architecture"));
        }
        if self.arch.is_multi()
            && self
                .os
                .as_ref()
                .is_some_and(|o| o.containerfile_build().is_some())
        {
            return Err(self.invalid(
                "os.containerfile",
                "a Containerfile build runs on one architecture; a multi-arch stream cannot use one",
            ));
        }
        Ok(())
    }

    fn signer(&self) -> Result<Option<Arc<crate::stream::ReleaseSigner>>, StreamError> {
        let Some(file) = &self.signing else {
            return Ok(None);
        };
        let Some(state) = &self.state_dir else {
            return Err(StreamError::invalid(
                &self.name,
                "signing",
                "signing keeps its signatures in the state directory: set one",
            ));
        };
        let dir = crate::stream::signing::signature_dir(state);
        Ok(Some(Arc::new(crate::stream::ReleaseSigner::new(
            &self.name, file, dir,
        )?)))
    }
}

/// Opens the store a location names through `map` (a layout is created for
/// [`Access::Write`]).
pub async fn open_location(
    map: &StoreMap,
    location: &StoreLocation,
    access: Access,
) -> Result<Arc<dyn Store>, StreamError> {
    let key = match location {
        StoreLocation::Layout { path } => StoreKey::layout(path),
        StoreLocation::Registry { host, .. } => StoreKey::Registry(host.clone()),
    };
    Ok(map.store_at(&key, access).await?)
}
