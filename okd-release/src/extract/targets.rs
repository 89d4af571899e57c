//! Which binaries `release extract --command` / `--tools` takes out of which component image.
//!
//! The table is `oc adm release extract`'s: the client (`oc`) comes from `cli` (the release's
//! own architecture, `usr/bin/oc`) or `cli-artifacts` (`usr/share/openshift/<os_arch>/oc`, for
//! other systems), the installer from `installer` (`usr/bin/openshift-install`) or
//! `installer-artifacts`, the bare-metal installer from `baremetal-installer` and `ccoctl` from
//! `cloud-credential-operator`. [`select`] picks the entries for a command and a
//! `--command-os` value with `oc`'s rules:
//!
//! * no command (`--tools`) takes every entry that is not optional; a command takes its
//!   entries; either way `--command-os='*'` takes every system, and archives are written
//!   whenever there is no command or the system is `*`;
//! * an entry for "the release's architecture" matches the release's own architecture, and a
//!   linux entry for that architecture by name is then skipped as its duplicate;
//! * an entry whose image the release lacks is skipped and reported, unless it is one of the
//!   newer ones (`cli-artifacts` for arm64, `ccoctl`, …) that older releases never had.
//!
//! ```
//! use okd_release::extract::targets::{CommandOs, select};
//!
//! let has = |tag: &str| tag == "installer";
//! let os: CommandOs = "linux/amd64".parse()?;
//! let picked = select(Some("openshift-install"), &os, "amd64", has)?;
//! assert_eq!(picked.targets.len(), 1);
//! assert_eq!(picked.targets[0].entry.image, "installer");
//! assert_eq!(picked.targets[0].entry.path, "usr/bin/openshift-install");
//! assert_eq!(picked.targets[0].file_name("4.19.0-okd-scos.1"), "openshift-install");
//! # Ok::<(), okd_release::extract::targets::TargetError>(())
//! ```

use std::collections::BTreeSet;
use std::str::FromStr;

use super::markers::Marker;

/// The architecture an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetArch {
    /// Whatever the release is built for.
    Release,
    /// This one (`amd64`, `arm64`, …).
    Named(&'static str),
}

/// Which text goes into an archive as `README.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readme {
    /// The client on Linux and macOS.
    ClientUnix,
    /// The client on Windows.
    ClientWindows,
    /// The installer.
    Installer,
    /// `ccoctl`.
    Ccoctl,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `linux`, `darwin` or `windows`.
    pub os: &'static str,
    /// The architecture.
    pub arch: TargetArch,
    /// The command name users ask for (`oc`, `oc.rhel9`, `openshift-install`).
    pub command: &'static str,
    /// Only extracted when asked for by name, never by `--tools`.
    pub optional: bool,
    /// Newer than the oldest supported releases: a release without its image is not a
    /// problem.
    pub new_arch: bool,
    /// The markers written into the binary.
    pub markers: &'static [Marker],
    /// The image-references tag of the image holding the binary.
    pub image: &'static str,
    /// The binary's path in that image.
    pub path: &'static str,
    /// The archive name, `{}` standing for the release name.
    pub archive: &'static str,
    /// The archive's README.
    pub readme: Readme,
    /// Hard links added next to the binary in a tar archive (`kubectl`).
    pub links: &'static [&'static str],
    /// The name the binary gets, when it is not the command (`oc` for `oc.rhel9`).
    pub file_command: Option<&'static str>,
    /// A macOS arm64 binary, whose signature a change invalidates.
    pub signed_macho: bool,
}

impl Entry {
    /// The binary's name once extracted.
    pub fn binary_name(&self) -> &'static str {
        self.file_command.unwrap_or(self.command)
    }
}

const CLIENT: &[Marker] = &[Marker::ReleaseVersion];
const INSTALLER: &[Marker] = &[
    Marker::ReleaseImage,
    Marker::ReleaseVersion,
    Marker::ReleaseArchitecture,
];

/// Where a binary is and what its archive is called.
#[derive(Clone, Copy)]
struct Source {
    image: &'static str,
    path: &'static str,
    archive: &'static str,
}

const fn from(image: &'static str, path: &'static str, archive: &'static str) -> Source {
    Source {
        image,
        path,
        archive,
    }
}

/// What a kind of binary gets: its markers, README and links.
#[derive(Clone, Copy)]
struct Kind {
    markers: &'static [Marker],
    readme: Readme,
    links: &'static [&'static str],
}

const fn entry(
    os: &'static str,
    arch: TargetArch,
    command: &'static str,
    from: Source,
    kind: Kind,
) -> Entry {
    Entry {
        os,
        arch,
        command,
        optional: false,
        new_arch: false,
        markers: kind.markers,
        image: from.image,
        path: from.path,
        archive: from.archive,
        readme: kind.readme,
        links: kind.links,
        file_command: None,
        signed_macho: false,
    }
}

const UNIX_CLIENT: Kind = Kind {
    markers: CLIENT,
    readme: Readme::ClientUnix,
    links: &["kubectl"],
};
const WINDOWS_CLIENT: Kind = Kind {
    markers: CLIENT,
    readme: Readme::ClientWindows,
    links: &[],
};
const INSTALL: Kind = Kind {
    markers: INSTALLER,
    readme: Readme::Installer,
    links: &[],
};
const CCOCTL: Kind = Kind {
    markers: &[],
    readme: Readme::Ccoctl,
    links: &[],
};

impl Entry {
    const fn newer(mut self) -> Entry {
        self.new_arch = true;
        self
    }

    const fn optional(mut self) -> Entry {
        self.optional = true;
        self
    }

    const fn named(mut self, binary: &'static str) -> Entry {
        self.file_command = Some(binary);
        self
    }

    const fn signed(mut self) -> Entry {
        self.signed_macho = true;
        self
    }
}

use TargetArch::{Named, Release};

const AMD64: TargetArch = Named("amd64");
const ARM64: TargetArch = Named("arm64");
const PPC64LE: TargetArch = Named("ppc64le");
const S390X: TargetArch = Named("s390x");

/// Every binary `oc adm release extract` knows, in its order.
#[rustfmt::skip]
pub static TABLE: &[Entry] = &[
    entry("darwin", AMD64, "oc", from("cli-artifacts", "usr/share/openshift/mac/oc", "openshift-client-mac-{}.tar.gz"), UNIX_CLIENT),
    entry("darwin", ARM64, "oc", from("cli-artifacts", "usr/share/openshift/mac_arm64/oc", "openshift-client-mac-arm64-{}.tar.gz"), UNIX_CLIENT).newer().signed(),
    entry("linux", Release, "oc", from("cli", "usr/bin/oc", "openshift-client-linux-{}.tar.gz"), UNIX_CLIENT),
    entry("linux", AMD64, "oc", from("cli-artifacts", "usr/share/openshift/linux_amd64/oc", "openshift-client-linux-amd64-{}.tar.gz"), UNIX_CLIENT),
    entry("linux", AMD64, "oc.rhel9", from("cli-artifacts", "usr/share/openshift/linux_amd64/oc.rhel9", "openshift-client-linux-amd64-rhel9-{}.tar.gz"), UNIX_CLIENT).named("oc"),
    entry("linux", AMD64, "oc.rhel8", from("cli-artifacts", "usr/share/openshift/linux_amd64/oc.rhel8", "openshift-client-linux-amd64-rhel8-{}.tar.gz"), UNIX_CLIENT).named("oc"),
    entry("linux", ARM64, "oc", from("cli-artifacts", "usr/share/openshift/linux_arm64/oc", "openshift-client-linux-arm64-{}.tar.gz"), UNIX_CLIENT).newer(),
    entry("linux", ARM64, "oc.rhel9", from("cli-artifacts", "usr/share/openshift/linux_arm64/oc.rhel9", "openshift-client-linux-arm64-rhel9-{}.tar.gz"), UNIX_CLIENT).newer().named("oc"),
    entry("linux", ARM64, "oc.rhel8", from("cli-artifacts", "usr/share/openshift/linux_arm64/oc.rhel8", "openshift-client-linux-arm64-rhel8-{}.tar.gz"), UNIX_CLIENT).newer().named("oc"),
    entry("linux", PPC64LE, "oc", from("cli-artifacts", "usr/share/openshift/linux_ppc64le/oc", "openshift-client-linux-ppc64le-{}.tar.gz"), UNIX_CLIENT).newer(),
    entry("linux", PPC64LE, "oc.rhel9", from("cli-artifacts", "usr/share/openshift/linux_ppc64le/oc.rhel9", "openshift-client-linux-ppc64le-rhel9-{}.tar.gz"), UNIX_CLIENT).newer().named("oc"),
    entry("linux", PPC64LE, "oc.rhel8", from("cli-artifacts", "usr/share/openshift/linux_ppc64le/oc.rhel8", "openshift-client-linux-ppc64le-rhel8-{}.tar.gz"), UNIX_CLIENT).newer().named("oc"),
    entry("linux", S390X, "oc.rhel9", from("cli-artifacts", "usr/share/openshift/linux_s390x/oc.rhel9", "openshift-client-linux-s390x-rhel9-{}.tar.gz"), UNIX_CLIENT).newer().named("oc"),
    entry("linux", S390X, "oc.rhel8", from("cli-artifacts", "usr/share/openshift/linux_s390x/oc.rhel8", "openshift-client-linux-s390x-rhel8-{}.tar.gz"), UNIX_CLIENT).newer().named("oc"),
    entry("windows", AMD64, "oc", from("cli-artifacts", "usr/share/openshift/windows/oc.exe", "openshift-client-windows-{}.zip"), WINDOWS_CLIENT),
    entry("darwin", AMD64, "openshift-install", from("installer-artifacts", "usr/share/openshift/mac/openshift-install", "openshift-install-mac-{}.tar.gz"), INSTALL),
    entry("darwin", ARM64, "openshift-install", from("installer-artifacts", "usr/share/openshift/mac_arm64/openshift-install", "openshift-install-mac-arm64-{}.tar.gz"), INSTALL).newer().signed(),
    entry("linux", Release, "openshift-install", from("installer", "usr/bin/openshift-install", "openshift-install-linux-{}.tar.gz"), INSTALL),
    entry("linux", AMD64, "openshift-install", from("installer-artifacts", "usr/share/openshift/linux_amd64/openshift-install", "openshift-install-linux-amd64-{}.tar.gz"), INSTALL).newer(),
    entry("linux", ARM64, "openshift-install", from("installer-artifacts", "usr/share/openshift/linux_arm64/openshift-install", "openshift-install-linux-arm64-{}.tar.gz"), INSTALL).newer(),
    entry("linux", Release, "openshift-baremetal-install", from("baremetal-installer", "usr/bin/openshift-install", "openshift-baremetal-install-linux-{}.tar.gz"), INSTALL).optional(),
    entry("linux", Release, "openshift-install-fips", from("baremetal-installer", "usr/bin/openshift-install", "openshift-install-rhel-{}.tar.gz"), INSTALL).optional(),
    entry("linux", Release, "ccoctl", from("cloud-credential-operator", "usr/bin/ccoctl", "ccoctl-linux-{}.tar.gz"), CCOCTL).newer(),
    entry("linux", Release, "ccoctl.rhel8", from("cloud-credential-operator", "usr/bin/ccoctl.rhel8", "ccoctl-linux-rhel8-{}.tar.gz"), CCOCTL).newer().named("ccoctl"),
    entry("linux", Release, "ccoctl.rhel9", from("cloud-credential-operator", "usr/bin/ccoctl.rhel9", "ccoctl-linux-rhel9-{}.tar.gz"), CCOCTL).newer().named("ccoctl"),
];

/// The `--command-os` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOs {
    /// One system (`mac` is `darwin`; a system without architecture means `amd64`).
    One {
        /// `linux`, `darwin`, `windows`.
        os: String,
        /// `amd64`, `arm64`, …
        arch: String,
    },
    /// `*`: every system, as archives.
    All,
}

impl CommandOs {
    /// The system this program runs on.
    pub fn host() -> CommandOs {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "powerpc64" => "ppc64le",
            other => other,
        };
        CommandOs::One {
            os: os.to_string(),
            arch: arch.to_string(),
        }
    }
}

impl FromStr for CommandOs {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<CommandOs, TargetError> {
        if s == "*" {
            return Ok(CommandOs::All);
        }
        let parts: Vec<&str> = s.split('/').collect();
        let (os, arch) = match parts[..] {
            [os] => (os, "amd64"),
            [os, arch] => (os, arch),
            _ => return Err(TargetError::InvalidCommandOs(s.to_string())),
        };
        let os = if os == "mac" { "darwin" } else { os };
        Ok(CommandOs::One {
            os: os.to_string(),
            arch: arch.to_string(),
        })
    }
}

impl std::fmt::Display for CommandOs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandOs::All => f.write_str("*"),
            CommandOs::One { os, arch } => write!(f, "{os}/{arch}"),
        }
    }
}

/// A table entry chosen for extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The entry.
    pub entry: &'static Entry,
    /// Written into an archive (`.tar.gz`, or `.zip` when `zip`), not as a plain binary.
    pub archive: bool,
    /// A zip archive (Windows).
    pub zip: bool,
}

impl Target {
    /// The file written into the target directory for the release `release_name`.
    pub fn file_name(&self, release_name: &str) -> String {
        if self.archive {
            self.entry.archive.replace("{}", release_name)
        } else {
            self.entry.binary_name().to_string()
        }
    }

    /// The binary's name inside an archive (`oc.exe` in a zip).
    pub fn member_name(&self) -> String {
        if self.zip {
            format!("{}.exe", self.entry.binary_name())
        } else {
            self.entry.binary_name().to_string()
        }
    }
}

/// What [`select`] chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The entries to extract, in table order.
    pub targets: Vec<Target>,
    /// Images entries needed that the release lacks (skipped entries), sorted.
    pub missing_images: BTreeSet<String>,
    /// Whether archives (plus `release.txt` and `sha256sum.txt`) are written.
    pub archives: bool,
}

impl Selection {
    /// `oc`'s warning about skipped entries, when some were skipped.
    pub fn warning(&self) -> Option<String> {
        if self.missing_images.is_empty() {
            return None;
        }
        let list: Vec<&str> = self.missing_images.iter().map(String::as_str).collect();
        Some(format!(
            "warning: Some commands can not be extracted due to missing images: {}",
            list.join(", ")
        ))
    }
}

/// Why nothing can be extracted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// A `--command-os` value with more than one `/`.
    #[error("invalid --command-os value {0:?}")]
    InvalidCommandOs(String),
    /// A command the table does not know.
    #[error(
        "command {command:?} does not exist in targets or does not support the operating system {os:?}"
    )]
    UnknownCommand {
        /// The command.
        command: String,
        /// The `--command-os` system.
        os: String,
    },
    /// An unknown command with `--command-os='*'`.
    #[error(
        "the supported commands are 'oc', 'openshift-install', 'openshift-baremetal-install' and 'ccoctl'"
    )]
    Unsupported,
    /// The one image holding the command is not in the release.
    #[error("the image {0:?} containing the desired command is not available")]
    MissingImage(String),
    /// Several images holding the commands are not in the release.
    #[error("some required images are missing: {0}")]
    MissingImages(String),
    /// No entry for this system.
    #[error("the command '{command}' is not available for {os}/{arch}")]
    NotForSystem {
        /// The command (empty for `--tools`).
        command: String,
        /// The system.
        os: String,
        /// The architecture.
        arch: String,
    },
}

/// Chooses the entries for `command` (`None`: `--tools`) on `os`, for a release built for
/// `release_arch`; `has_image` says whether the release has an image-references tag.
pub fn select(
    command: Option<&str>,
    os: &CommandOs,
    release_arch: &str,
    has_image: impl Fn(&str) -> bool,
) -> Result<Selection, TargetError> {
    let archives = command.is_none() || *os == CommandOs::All;
    let candidates: Vec<&'static Entry> = TABLE
        .iter()
        .filter(|e| match command {
            Some(c) => e.command == c,
            None => !e.optional,
        })
        .collect();
    if candidates.is_empty() {
        return Err(match (command, os) {
            (Some(_), CommandOs::All) => TargetError::Unsupported,
            (c, os) => TargetError::UnknownCommand {
                command: c.unwrap_or_default().to_string(),
                os: match os {
                    CommandOs::One { os, .. } => os.clone(),
                    CommandOs::All => "*".to_string(),
                },
            },
        });
    }
    let mut release_arch_commands: BTreeSet<&str> = BTreeSet::new();
    let mut missing_images = BTreeSet::new();
    let mut targets = Vec::new();
    for entry in candidates {
        if let CommandOs::One { os: want_os, arch } = os {
            if entry.os != want_os.as_str() {
                continue;
            }
            let arch_ok = match entry.arch {
                TargetArch::Named(a) => a == arch.as_str(),
                TargetArch::Release => arch.as_str() == release_arch,
            };
            if !arch_ok {
                continue;
            }
        }
        if entry.arch == TargetArch::Release {
            release_arch_commands.insert(entry.command);
        }
        // The release's own architecture by name duplicates the "release architecture" entry.
        let named_release_arch = matches!(entry.arch, TargetArch::Named(a) if a == release_arch);
        if entry.os == "linux"
            && named_release_arch
            && release_arch_commands.contains(entry.command)
        {
            continue;
        }
        if !has_image(entry.image) {
            // `oc` would go on with an empty pullspec for a newer entry and fail parsing it;
            // a release that predates the image simply does not have that binary.
            if !entry.new_arch {
                missing_images.insert(entry.image.to_string());
            }
            continue;
        }
        targets.push(Target {
            entry,
            archive: archives,
            zip: archives && entry.os == "windows",
        });
    }
    if targets.is_empty() {
        let list: Vec<String> = missing_images.iter().cloned().collect();
        return Err(match list.len() {
            1 => TargetError::MissingImage(list[0].clone()),
            n if n > 1 => TargetError::MissingImages(list.join(", ")),
            _ => {
                let (os, arch) = match os {
                    CommandOs::One { os, arch } => (os.clone(), arch.clone()),
                    CommandOs::All => ("*".to_string(), "*".to_string()),
                };
                TargetError::NotForSystem {
                    command: command.unwrap_or_default().to_string(),
                    os,
                    arch,
                }
            }
        });
    }
    Ok(Selection {
        targets,
        missing_images,
        archives,
    })
}

#[cfg(test)]
mod tests;
