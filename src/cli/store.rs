//! Stores for the references users give on the command line.

use okd_oci::registry::RegistryOptions;
use okd_oci::{ImageRef, Resolved, Resolver};

use super::{CliError, GlobalArgs};

/// Resolves `docker://…` and `oci:…` references to shared stores, with the global registry
/// options (`--insecure-registry`, `--authfile`) applied.
#[derive(Debug)]
pub struct Stores {
    resolver: Resolver,
}

impl Stores {
    pub fn new(global: &GlobalArgs) -> Stores {
        let mut options = RegistryOptions::default();
        for host in &global.insecure_registries {
            options = options.insecure_registry(host.clone());
        }
        if let Some(path) = &global.authfile {
            options = options.auth_file(path.clone());
        }
        Stores {
            resolver: Resolver::new(options),
        }
    }

    /// The shared resolver.
    #[allow(dead_code)]
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Parses `text` and resolves it; `create` allows a new layout directory (destinations).
    #[allow(dead_code)]
    pub async fn open(&self, text: &str, create: bool) -> Result<(ImageRef, Resolved), CliError> {
        let image: ImageRef = text.parse()?;
        let resolved = self.resolver.resolve(&image, create).await?;
        Ok((image, resolved))
    }
}
