//! The flags of `mirror release` and `mirror image`, turned into okd-mirror's typed runs: every
//! reference parsed, `-j 0` and `--retries 0` resolved to the library's defaults, and each
//! invalid value named before anything is read.

use okd_mirror::run::{ImageRun, Instructions, Outputs, ReleaseRun};
use okd_mirror::{
    ComponentFilter, DEFAULT_JOBS, Error, ImageMapping, MirrorOptions, Naming, PlatformChoice,
    ReleaseMirror, ReleaseTarget, RetryPolicy, mapping, parse_repository, run::run_defaults,
};
use okd_oci::ImageRef;

use super::{ImageArgs, InstructionsArg, NamingArg, ReleaseArgs};

impl ReleaseArgs {
    /// The run these flags ask for.
    pub fn to_run(&self) -> Result<ReleaseRun, Error> {
        self.to_run_with_target(&self.to)
    }

    /// The run these flags ask for, to `to` instead of `--to`.
    pub fn to_run_with_target(&self, to: &str) -> Result<ReleaseRun, Error> {
        let source = source(&self.source)?;
        let naming = match self.naming {
            NamingArg::Release => Naming::Release,
            NamingArg::Content => Naming::Content,
            NamingArg::DigestOnly => Naming::DigestOnly,
        };
        let mut target = ReleaseTarget::parse(to, naming)?;
        target.multi_suffix = self.keep_manifest_list;
        if let Some(r) = &self.to_release_image {
            // A bare repository would silently become `:latest`; ask for the tag instead.
            if parse_repository(r).is_ok() {
                return Err(Error::InvalidDestination {
                    destination: r.clone(),
                    reason: "--to-release-image needs a tag".to_string(),
                });
            }
            let image: ImageRef =
                r.parse()
                    .map_err(|e: okd_oci::Error| Error::InvalidDestination {
                        destination: r.clone(),
                        reason: e.to_string(),
                    })?;
            target = target.with_release_image(image);
        }
        Ok(ReleaseRun {
            release: ReleaseMirror { source, target },
            filter: ComponentFilter::new(&self.include, &self.exclude)?,
            platform: platform(&self.platform)?,
            options: options(self.jobs, self.retries),
            dry_run: self.dry_run,
            outputs: Outputs {
                report: self.report.clone(),
                mapping: self.mapping.clone(),
                idms: self.idms.clone(),
                icsp: self.icsp.clone(),
                install_config: self.install_config.clone(),
            },
            instructions: match self.print_mirror_instructions {
                InstructionsArg::Idms => Instructions::Idms,
                InstructionsArg::Icsp => Instructions::Icsp,
                InstructionsArg::None => Instructions::None,
            },
        })
    }
}

impl ImageArgs {
    /// The run these flags ask for.
    pub fn to_run(&self) -> Result<ImageRun, Error> {
        let source = source(&self.source)?;
        let destination = mapping::parse_destination(&self.destination).map_err(|e| {
            Error::InvalidDestination {
                destination: self.destination.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(ImageRun {
            mapping: ImageMapping::image(source, destination),
            platform: platform(&self.platform)?,
            options: options(self.jobs, self.retries),
            dry_run: self.dry_run,
            outputs: Outputs {
                report: self.report.clone(),
                mapping: self.mapping.clone(),
                ..Outputs::default()
            },
        })
    }
}

fn source(s: &str) -> Result<ImageRef, Error> {
    s.parse().map_err(|e: okd_oci::Error| Error::InvalidSource {
        source_ref: s.to_string(),
        reason: e.to_string(),
    })
}

/// `--platform OS/ARCH[/VARIANT]`, or every platform.
pub fn platform(p: &Option<String>) -> Result<PlatformChoice, Error> {
    match p {
        None => Ok(PlatformChoice::All),
        Some(p) => Ok(PlatformChoice::Only(p.parse()?)),
    }
}

/// `-j N` and `--retries N`, 0 meaning the library's default. A run leaves the per-blob check to
/// the uploads; a dry run checks every blob anyway.
pub fn options(jobs: usize, retries: Option<u32>) -> MirrorOptions {
    let defaults = run_defaults();
    MirrorOptions {
        jobs: if jobs == 0 { DEFAULT_JOBS } else { jobs },
        retry: RetryPolicy {
            attempts: match retries {
                None | Some(0) => defaults.retry.attempts,
                Some(n) => n,
            },
            ..defaults.retry
        },
        ..defaults
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::mirror::MirrorCommand;
    use crate::cli::{Cli, Command};

    fn mirror(args: &[&str]) -> MirrorCommand {
        let argv = ["okd-streams", "mirror"].iter().chain(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Mirror(m) => m.command.expect("a mirror subcommand"),
            other => panic!("not a mirror command: {other:?}"),
        }
    }

    fn release_of(src: &str, to: &str, args: &[&str]) -> Result<ReleaseRun, Error> {
        let mut argv = vec!["release", src, "--to", to];
        argv.extend(args);
        match mirror(&argv) {
            MirrorCommand::Release(a) => a.to_run(),
            other => panic!("not mirror release: {other:?}"),
        }
    }

    fn release(args: &[&str]) -> Result<ReleaseRun, Error> {
        release_of("quay.io/okd/scos-release:4.19", "reg.local/okd", args)
    }

    fn image(src: &str, dst: &str) -> Result<ImageRun, Error> {
        match mirror(&["image", src, dst]) {
            MirrorCommand::Image(a) => a.to_run(),
            other => panic!("not mirror image: {other:?}"),
        }
    }

    fn release_err(args: &[&str]) -> String {
        release(args).unwrap_err().to_string()
    }

    #[test]
    fn bad_flags_are_refused_before_anything_is_read() {
        let e = release_of("quay.io/okd/scos-release:4.19", "reg.local/okd:tagged", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("reg.local/okd:tagged"), "{e}");
        assert!(
            release_err(&["--to-release-image", "reg.local/okd/release"])
                .contains("--to-release-image needs a tag")
        );
        assert!(release_err(&["--exclude", "["]).contains("invalid component pattern \"[\""));
        assert!(release_err(&["--platform", "amd64"]).contains("invalid platform \"amd64\""));
        let e = release_of("ftp://x", "reg.local/okd", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ftp://x"), "{e}");
    }

    #[test]
    fn multi_suffix_follows_keep_manifest_list_as_in_oc() {
        assert!(!release(&[]).unwrap().release.target.multi_suffix);
        let kept = release(&["--keep-manifest-list"]).unwrap();
        assert!(kept.release.target.multi_suffix);
    }

    #[test]
    fn flags_become_the_typed_run() {
        let run = release(&[
            "--to-release-image",
            "reg.local/okd/release:4.19",
            "--naming",
            "content",
            "--exclude",
            "rhel-coreos*",
            "--platform",
            "linux/arm64",
            "--dry-run",
            "--idms",
            "idms.yaml",
            "--print-mirror-instructions",
            "icsp",
        ])
        .unwrap();
        assert_eq!(
            run.release.source.to_string(),
            "quay.io/okd/scos-release:4.19"
        );
        assert_eq!(run.release.target.naming, Naming::Content);
        assert_eq!(
            run.release
                .target
                .release_image
                .as_ref()
                .map(|r| r.to_string()),
            Some("reg.local/okd/release:4.19".to_string())
        );
        assert!(!run.filter.keeps("rhel-coreos-extensions"));
        assert!(run.filter.keeps("cli"));
        assert!(matches!(&run.platform, PlatformChoice::Only(p) if p.architecture == "arm64"));
        assert!(run.dry_run);
        assert_eq!(run.outputs.idms, Some("idms.yaml".into()));
        assert_eq!(run.instructions, Instructions::Icsp);
        assert!(
            !run.options.check_blobs,
            "a run leaves blob checks to the uploads"
        );
    }

    #[test]
    fn zero_jobs_and_retries_mean_the_defaults() {
        let run = release(&["-j", "0", "--retries", "0"]).unwrap();
        assert_eq!(run.options.jobs, DEFAULT_JOBS);
        assert_eq!(run.options.retry.attempts, RetryPolicy::default().attempts);
        let run = release(&["-j", "3", "--retries", "2"]).unwrap();
        assert_eq!((run.options.jobs, run.options.retry.attempts), (3, 2));
    }

    #[test]
    fn image_destination_forms() {
        let dst = |d: &str| image("reg.local/a/b:v1", d).map(|r| r.mapping.destination);
        let r = dst("reg.local/c/d:v2").unwrap();
        assert_eq!(r.tag(), Some("v2"));
        // A repository keeps the source's tag.
        assert_eq!(dst("reg.local/c/d").unwrap().tag(), Some("v1"));
        let r = dst("oci:/tmp/x:a/b:v2").unwrap();
        assert_eq!((r.repository(), r.tag()), ("a/b", Some("v2")));
        let e = dst("not a ref").unwrap_err().to_string();
        assert!(e.contains("not a ref"), "{e}");
    }
}
