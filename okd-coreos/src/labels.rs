//! The image labels and annotations OS images carry, and the `name=value,name=value` lists
//! OpenShift release tooling reads component versions from.
//!
//! `oc adm release new` reads `io.openshift.build.versions` (`machine-os=413.9.202302130811-0`)
//! and `io.openshift.build.version-display-names` (`machine-os=CentOS Stream CoreOS`) from every
//! component image; that is how a release shows its OS version.
//!
//! ```
//! use okd_coreos::labels::{ComponentList, MACHINE_OS};
//!
//! let mut versions: ComponentList = "machine-os=413.9.202302130811-0,kubernetes=1.26.1".parse()?;
//! versions.set(MACHINE_OS, "414.9.202310110807-0");
//! assert_eq!(versions.to_string(), "machine-os=414.9.202310110807-0,kubernetes=1.26.1");
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// `ostree.bootable`: set on images that are bootable ostree commits.
pub const OSTREE_BOOTABLE: &str = "ostree.bootable";
/// `ostree.commit`: the SHA-256 of the encapsulated ostree commit.
pub const OSTREE_COMMIT: &str = "ostree.commit";
/// `ostree.final-diffid`: the diff_id of the last layer that belongs to the ostree commit.
pub const OSTREE_FINAL_DIFFID: &str = "ostree.final-diffid";
/// `ostree.linux`: the kernel version.
pub const OSTREE_LINUX: &str = "ostree.linux";
/// `ostree.components`: layer annotation listing the packages in a chunk, comma-separated.
pub const OSTREE_COMPONENTS: &str = "ostree.components";
/// `containers.bootc`: set (`1`) on images bootc can boot.
pub const CONTAINERS_BOOTC: &str = "containers.bootc";
/// `org.opencontainers.image.version`.
pub const OCI_IMAGE_VERSION: &str = "org.opencontainers.image.version";
/// `version`: the legacy version label cosa wrote.
pub const LEGACY_VERSION: &str = "version";
/// `io.openshift.build.versions`: component versions, `name=version,…`.
pub const BUILD_VERSIONS: &str = "io.openshift.build.versions";
/// `io.openshift.build.version-display-names`: component display names, `name=Display Name,…`.
pub const BUILD_VERSION_DISPLAY_NAMES: &str = "io.openshift.build.version-display-names";
/// `io.openshift.release.operator`: the image's `/manifests` belong in the release payload.
pub const RELEASE_OPERATOR: &str = "io.openshift.release.operator";
/// `io.openshift.os.extensions`: set on OS extensions images.
pub const OS_EXTENSIONS: &str = "io.openshift.os.extensions";
/// The component name the OS version is listed under.
pub const MACHINE_OS: &str = "machine-os";
/// The stream class the machine-config-operator's OS image streams read from OS and
/// extensions images (`rhel-9`, `centos-10`).
pub const OS_STREAMCLASS: &str = "io.openshift.os.streamclass";

/// True for the labels a derived OS image inherits from its base untouched: `ostree.*` and
/// `containers.bootc`.
pub fn is_base_os_label(key: &str) -> bool {
    key.starts_with("ostree.") || key == CONTAINERS_BOOTC
}

/// An ordered `name=value,name=value` list, as in [`BUILD_VERSIONS`] and
/// [`BUILD_VERSION_DISPLAY_NAMES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentList(Vec<(String, String)>);

impl ComponentList {
    /// An empty list.
    pub fn new() -> ComponentList {
        ComponentList::default()
    }

    /// Parses the value of `label`, naming it in errors.
    pub fn parse_label(label: &str, value: &str) -> Result<ComponentList, Error> {
        let mut out = Vec::new();
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = |reason: &str| Error::InvalidLabel {
                label: label.to_string(),
                value: value.to_string(),
                reason: format!("{part:?}: {reason}"),
            };
            let (name, v) = part
                .split_once('=')
                .ok_or_else(|| bad("expected NAME=VALUE"))?;
            let (name, v) = (name.trim(), v.trim());
            if name.is_empty() || v.is_empty() {
                return Err(bad("empty name or value"));
            }
            out.push((name.to_string(), v.to_string()));
        }
        Ok(ComponentList(out))
    }

    /// The value of a component.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a component's value, in place when it is listed, else at the end.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.0.push((name.to_string(), value.to_string())),
        }
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ComponentList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

impl FromStr for ComponentList {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ComponentList::parse_label(BUILD_VERSIONS, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_label_values() {
        let v: ComponentList = "machine-os=37.20230211.20".parse().unwrap();
        assert_eq!(v.get(MACHINE_OS), Some("37.20230211.20"));
        let d = ComponentList::parse_label(BUILD_VERSION_DISPLAY_NAMES, "machine-os=Fedora CoreOS")
            .unwrap();
        assert_eq!(d.get(MACHINE_OS), Some("Fedora CoreOS"));
        assert_eq!(d.to_string(), "machine-os=Fedora CoreOS");
    }

    #[test]
    fn set_keeps_order_and_other_entries() {
        let mut v: ComponentList = "a=1,machine-os=x,b=2".parse().unwrap();
        v.set(MACHINE_OS, "y");
        v.set("c", "3");
        assert_eq!(v.to_string(), "a=1,machine-os=y,b=2,c=3");
        assert!(ComponentList::new().is_empty());
    }

    #[test]
    fn bad_values_name_the_label() {
        for bad in ["machine-os", "=1", "machine-os="] {
            let e = ComponentList::parse_label(BUILD_VERSIONS, bad).unwrap_err();
            assert!(e.to_string().contains(BUILD_VERSIONS), "{e}");
        }
    }

    #[test]
    fn base_os_labels() {
        assert!(is_base_os_label("ostree.final-diffid"));
        assert!(is_base_os_label("containers.bootc"));
        assert!(!is_base_os_label("io.openshift.build.versions"));
    }
}
