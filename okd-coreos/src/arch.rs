//! Architecture names: CoreOS stream metadata uses RPM names (`x86_64`, `aarch64`), OCI image
//! indexes and OKD payload tags use Go names (`amd64`, `arm64`).
//!
//! ```
//! use okd_coreos::Architecture;
//!
//! let a: Architecture = "arm64".parse()?;
//! assert_eq!(a.rpm_name(), "aarch64");
//! assert_eq!("x86_64".parse::<Architecture>()?.oci_name(), "amd64");
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A CPU architecture CoreOS is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Architecture {
    /// `x86_64` / `amd64`.
    X86_64,
    /// `aarch64` / `arm64`.
    Aarch64,
    /// `ppc64le` (the same in both namings).
    Ppc64le,
    /// `s390x` (the same in both namings).
    S390x,
}

impl Architecture {
    /// Every architecture, in the order CoreOS lists them.
    pub const ALL: [Architecture; 4] = [
        Architecture::X86_64,
        Architecture::Aarch64,
        Architecture::Ppc64le,
        Architecture::S390x,
    ];

    /// The RPM/GNU name used as key in stream metadata (`x86_64`, `aarch64`).
    pub fn rpm_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Aarch64 => "aarch64",
            Architecture::Ppc64le => "ppc64le",
            Architecture::S390x => "s390x",
        }
    }

    /// The Go/OCI name used in image indexes and image configs (`amd64`, `arm64`).
    pub fn oci_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "amd64",
            Architecture::Aarch64 => "arm64",
            Architecture::Ppc64le => "ppc64le",
            Architecture::S390x => "s390x",
        }
    }

    /// The architecture this program was compiled for, when CoreOS is built for it.
    pub fn host() -> Option<Architecture> {
        match std::env::consts::ARCH {
            // Rust names both POWER flavours `powerpc64`; CoreOS only ships little-endian.
            "powerpc64" if cfg!(target_endian = "little") => Some(Architecture::Ppc64le),
            "powerpc64" => None,
            other => other.parse().ok(),
        }
    }
}

impl fmt::Display for Architecture {
    /// Displays the RPM name, the form stream metadata uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rpm_name())
    }
}

impl FromStr for Architecture {
    type Err = Error;

    /// Accepts both the RPM and the OCI name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "x86_64" | "amd64" => Architecture::X86_64,
            "aarch64" | "arm64" => Architecture::Aarch64,
            "ppc64le" => Architecture::Ppc64le,
            "s390x" => Architecture::S390x,
            _ => {
                return Err(Error::UnknownArchitecture {
                    input: s.to_string(),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_namings_round_trip() {
        for a in Architecture::ALL {
            assert_eq!(a.rpm_name().parse::<Architecture>().unwrap(), a);
            assert_eq!(a.oci_name().parse::<Architecture>().unwrap(), a);
        }
    }

    #[test]
    fn unknown_is_named() {
        let e = "riscv64".parse::<Architecture>().unwrap_err();
        assert!(e.to_string().contains("riscv64"), "{e}");
    }
}
