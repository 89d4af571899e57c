//! A served stream: what the server needs to know of a stream file, read without opening the
//! stream's stores or taking its state's lock.

use std::path::{Path, PathBuf};

use okd_gating::GatingPolicy;
use okd_streams::stream::{StoreLocation, StreamFile, Target};

use crate::ServeError;

/// One stream to serve: its name, policy, target and state files.
#[derive(Debug, Clone)]
pub struct ServedStream {
    /// The stream's name (the `{stream}` of the API paths).
    pub name: String,
    /// Its gating policy (jobs, gates, promotions).
    pub policy: GatingPolicy,
    /// Where it writes its releases.
    pub target: Target,
    /// Its state directory (`gating.json`, `ledger.json`, `signatures/`).
    pub state_dir: PathBuf,
    /// True when the stream file names a public host: pullspecs name that registry.
    pub public_host_set: bool,
    /// How its store is reached to read release images (for diffs): TLS verified except for
    /// the stream file's `insecure_registries`.
    pub registry_options: okd_oci::registry::RegistryOptions,
}

impl ServedStream {
    /// Reads a stream file.
    pub fn from_file(file: &Path) -> Result<ServedStream, ServeError> {
        let wrap = |source| ServeError::StreamFile {
            file: file.to_path_buf(),
            source: Box::new(source),
        };
        let f = StreamFile::load(file).map_err(wrap)?;
        let builder = f.to_builder(file).map_err(wrap)?;
        let policy = builder.gating_policy().map_err(wrap)?;
        let state_dir = builder
            .state_directory()
            .ok_or_else(|| ServeError::NoStateDir {
                file: file.to_path_buf(),
            })?
            .to_path_buf();
        Ok(ServedStream {
            name: f.name.clone(),
            target: builder.target(),
            policy,
            state_dir,
            public_host_set: f.public_host.is_some(),
            registry_options: f
                .insecure_registries
                .iter()
                .fold(okd_oci::registry::RegistryOptions::default(), |o, h| {
                    o.insecure_registry(h.clone())
                }),
        })
    }

    /// The gating state file.
    pub fn state_file(&self) -> PathBuf {
        self.state_dir.join("gating.json")
    }

    /// The ledger file.
    pub fn ledger_file(&self) -> PathBuf {
        self.state_dir.join("ledger.json")
    }

    /// True when the release images are in a layout, which no cluster can pull from unless
    /// the stream file names the registry the layout is pushed to (`public_host`).
    pub fn unpullable(&self) -> bool {
        matches!(self.target.location, StoreLocation::Layout { .. }) && !self.public_host_set
    }

    /// Names of the stream's promotions (publish steps), each also served as a channel.
    pub fn promotions(&self) -> impl Iterator<Item = &str> {
        self.policy.publish.iter().map(|p| p.name.as_str())
    }
}
