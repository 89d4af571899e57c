//! Payload checks as local verification jobs: the command a job runs, and the argument parsing
//! and store opening on the job's side.
//!
//! A check job is a process — `okd-streams stream verify --check images …`, or a program of your
//! own that hands its arguments to [`run_verify_args`] — started by okd-gating's
//! [`CommandJobRunner`](okd_gating::CommandJobRunner) with `RELEASE_IMAGE_LATEST` (and, for
//! upgrade jobs, `RELEASE_IMAGE_INITIAL`) in its environment, and `REGISTRY_AUTH_FILE` when the
//! stream was given an auth file (`okd-streams --authfile`): the check reads its registries with
//! the credentials of that file, as skopeo, podman and oc do. A registries.conf given to the
//! stream as one file (`okd-streams --registries-conf`) reaches the job the same way, as
//! `CONTAINERS_REGISTRIES_CONF`. Its arguments say where component images are read
//! (`--source HOST=STORE`, `--source '*=STORE'`), which payload tag holds the OS (`--os-tag`),
//! where the stream's layered OS images are (`--os-images`), which registries are insecure
//! (`--insecure-host`) and where registry certificates are (`--cert-dir`, when the stream has
//! one).
//!
//! ```
//! use okd_streams::stream::jobs::VerifyArgs;
//!
//! let args = VerifyArgs::parse(["--check", "images", "--release", "oci:/srv/okd:okd/release:4.19.0-okd-scos.1",
//!     "--source", "*=oci:/srv/okd"])?;
//! assert_eq!(args.check, ["images"]);
//! assert_eq!(args.sources, ["*=oci:/srv/okd"]);
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use okd_gating::JobCommand;
use okd_oci::registry::{RegistriesConf, RegistryOptions};
use okd_oci::{Access, ImageRef, Store, StoreKey, StoreMap};

use super::StreamError;
use super::checks::{Check, CheckInput, verify};

/// Environment variable holding the release under test.
pub const RELEASE_IMAGE_LATEST: &str = "RELEASE_IMAGE_LATEST";
/// Environment variable holding the upgrade source.
pub const RELEASE_IMAGE_INITIAL: &str = "RELEASE_IMAGE_INITIAL";
/// Environment variable naming the registry auth file local jobs use (read by skopeo, podman,
/// oc and the built-in checks): the absolute path of the stream's auth file, when it has one.
pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";

/// The program check jobs run, with the arguments before the check's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckProgram {
    /// The executable.
    pub program: PathBuf,
    /// Leading arguments (`stream verify`).
    pub args: Vec<String>,
}

impl CheckProgram {
    /// This executable with `stream verify`: the `okd-streams` binary's own subcommand.
    pub fn this_binary() -> Result<CheckProgram, StreamError> {
        let program =
            std::env::current_exe().map_err(|e| StreamError::io("current executable", e))?;
        Ok(CheckProgram {
            program,
            args: vec!["stream".to_string(), "verify".to_string()],
        })
    }

    /// The command of a job running `check`.
    pub fn command(
        &self,
        check: Check,
        sources: &StoreMap,
        access: &JobAccess,
        os_tag: Option<String>,
        os_images: Option<ImageRef>,
    ) -> JobCommand {
        let mut args: Vec<String> = self.args.clone();
        args.extend(["--check".to_string(), check.to_string()]);
        for (host, store) in sources.aliases() {
            args.extend([
                "--source".to_string(),
                format!("{host}={}", store_arg(&store.location())),
            ]);
        }
        if let Some(f) = sources.fallback() {
            args.extend([
                "--source".to_string(),
                format!("*={}", store_arg(&f.location())),
            ]);
        }
        for h in &access.insecure {
            args.extend(["--insecure-host".to_string(), h.clone()]);
        }
        if let Some(dir) = &access.cert_dir {
            args.extend(["--cert-dir".to_string(), dir.to_string_lossy().into_owned()]);
        }
        if let Some(tag) = os_tag {
            args.extend(["--os-tag".to_string(), tag]);
        }
        if let Some(images) = os_images {
            args.extend(["--os-images".to_string(), images.to_string()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        JobCommand::new(&self.program.to_string_lossy(), &refs)
    }
}

/// How a check job reaches registries beyond the stores it is given: the hosts it reaches
/// without TLS verification, and the certificate directory it reads (absolute).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobAccess {
    /// Registries reached without TLS verification (`HOST[:PORT]`).
    pub insecure: Vec<String>,
    /// Certificates for every registry (`--cert-dir`), instead of the certs.d directories.
    pub cert_dir: Option<PathBuf>,
}

/// A store location as `Store::location` gives it, as a `--source` value: layouts are
/// `oci:PATH` already, registries are given as `docker://HOST`.
fn store_arg(location: &str) -> String {
    if location.starts_with("oci:") || location.starts_with("docker://") {
        location.to_string()
    } else {
        format!("docker://{location}")
    }
}

/// The arguments of a check job, as [`CheckProgram::command`] writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyArgs {
    /// Checks to run (images, manifests, os, upgrade).
    pub check: Vec<String>,
    /// The release to check.
    pub release: String,
    /// The upgrade source, for the upgrade check.
    pub initial: Option<String>,
    /// `HOST=STORE`: read images of registry HOST from STORE (`oci:PATH` or `docker://HOST`);
    /// `*=STORE` for every other host.
    pub sources: Vec<String>,
    /// The payload tag of the OS image (os check).
    pub os_tag: Option<String>,
    /// Repository of the stream's layered OS images, tagged by release version (os check).
    pub os_images: Option<String>,
    /// Registries reached without TLS verification (`HOST[:PORT]`).
    pub insecure: Vec<String>,
    /// Certificates for every registry, as skopeo's `--cert-dir` reads them.
    pub cert_dir: Option<PathBuf>,
}

impl VerifyArgs {
    /// Parses a check job's arguments: `--check NAME` (repeatable, at least one),
    /// `--release REF` (default: `$RELEASE_IMAGE_LATEST`), `--initial REF` (default:
    /// `$RELEASE_IMAGE_INITIAL`), `--source HOST=STORE`, `--os-tag TAG`, `--os-images REF`,
    /// `--insecure-host HOST[:PORT]` (repeatable) and `--cert-dir DIR`, each value after a
    /// space or an `=`.
    pub fn parse<I, S>(args: I) -> Result<VerifyArgs, StreamError>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        let mut parsed = VerifyArgs::default();
        let mut release = None;
        let mut parser = lexopt::Parser::from_args(args);
        while let Some(arg) = parser.next().map_err(invalid_argument)? {
            let lexopt::Arg::Long(flag) = arg else {
                return Err(invalid_argument(arg.unexpected()));
            };
            let flag = flag.to_string();
            let value = parser
                .value()
                .map_err(invalid_argument)?
                .into_string()
                .map_err(|v| invalid_argument(format!("--{flag}: {v:?} is not UTF-8")))?;
            match flag.as_str() {
                "check" => parsed.check.push(value),
                "release" => release = Some(value),
                "initial" => parsed.initial = Some(value),
                "source" => parsed.sources.push(value),
                "os-tag" => parsed.os_tag = Some(value),
                "os-images" => parsed.os_images = Some(value),
                "insecure-host" => parsed.insecure.push(value),
                "cert-dir" => parsed.cert_dir = Some(PathBuf::from(value)),
                other => return Err(invalid_argument(format!("unknown option --{other}"))),
            }
        }
        if parsed.check.is_empty() {
            return Err(invalid_argument("--check is required"));
        }
        parsed.release = match release.or_else(|| std::env::var(RELEASE_IMAGE_LATEST).ok()) {
            Some(r) => r,
            None => {
                return Err(invalid_argument(format!(
                    "--release or ${RELEASE_IMAGE_LATEST} is required"
                )));
            }
        };
        if parsed.initial.is_none() {
            parsed.initial = std::env::var(RELEASE_IMAGE_INITIAL).ok();
        }
        Ok(parsed)
    }
}

fn invalid_argument(message: impl std::fmt::Display) -> StreamError {
    StreamError::Arguments {
        message: message.to_string(),
    }
}

async fn image_and_store(
    stores: &StoreMap,
    text: &str,
) -> Result<(ImageRef, Arc<dyn Store>), StreamError> {
    let image: ImageRef = text.parse()?;
    let store = stores.store(&image, Access::Read).await?;
    Ok((image, store))
}

/// Runs the checks `args` name; returns the report lines. Registries are reached as the
/// containers tools reach them (the registries.conf of `$CONTAINERS_REGISTRIES_CONF` or the
/// standard search, the standard auth files and `$REGISTRY_AUTH_FILE`), with the insecure hosts
/// and certificate directory of `args`.
pub async fn run_verify(args: &VerifyArgs) -> Result<Vec<String>, StreamError> {
    let conf = RegistriesConf::load(None)?;
    run_verify_with(args, RegistryOptions::default().registries_conf(conf)).await
}

/// [`run_verify`] with registry options of the caller's (a program that already read its
/// registries.conf and credentials); the insecure hosts and certificate directory of `args`
/// are added to them.
pub async fn run_verify_with(
    args: &VerifyArgs,
    options: RegistryOptions,
) -> Result<Vec<String>, StreamError> {
    let mut options = options;
    for h in &args.insecure {
        options = options.insecure_registry(h.clone());
    }
    if let Some(dir) = &args.cert_dir {
        options = options.cert_dir(dir.clone());
    }
    // Images of registries without a store of their own (and no `*=` fallback) are read from
    // the registries; the release, the upgrade source and the OS images are read where their
    // references say.
    let stores = StoreMap::new(options);
    let mut fallback = None;
    for s in &args.sources {
        let (host, store) = s.split_once('=').ok_or_else(|| {
            StreamError::invalid("", "--source", format!("{s:?} is not HOST=STORE"))
        })?;
        let key: StoreKey = store.parse()?;
        let opened = stores.store_at(&key, Access::Read).await?;
        if host == "*" {
            fallback = Some(opened);
        } else {
            stores.alias(host, opened);
        }
    }
    let release = image_and_store(&stores, &args.release).await?;
    let initial = match args.initial.as_deref().filter(|i| *i != args.release) {
        Some(i) => Some(image_and_store(&stores, i).await?),
        None => None,
    };
    let os_images = match &args.os_images {
        Some(i) => Some(image_and_store(&stores, i).await?),
        None => None,
    };
    let sources = match fallback {
        Some(f) => stores.with_fallback(f),
        None => stores,
    };
    let input = CheckInput {
        release,
        initial,
        sources,
        os_tag: args.os_tag.clone(),
        os_images,
    };
    let mut lines = Vec::new();
    for c in &args.check {
        let check: Check = c.parse()?;
        for line in verify(check, &input).await? {
            lines.push(format!("{check}: {line}"));
        }
    }
    Ok(lines)
}

/// For a program of your own used as [`CheckProgram`]: parses `args` (everything after the
/// program's leading arguments) as [`VerifyArgs`], runs the checks, prints the report and
/// returns the process exit code (0 when every check passed).
pub async fn run_verify_args<I, S>(args: I) -> i32
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString>,
{
    let args = match VerifyArgs::parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match run_verify(&args).await {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
