//! Release names as versions: just enough ordering for upgrade-source resolution.
//!
//! OKD and OCP release names are semantic versions (`4.19.0-okd-scos.19`,
//! `4.19.0-0.okd-scos-2025-01-30-032525`, `4.22.0-okd-scos.ec.16`); the controller parses them
//! with semver, and so does this module. Names that are not versions sort after versions, by
//! name.

use std::cmp::Ordering;

/// The release name as a semantic version, when it is one.
pub(crate) fn parse(name: &str) -> Option<semver::Version> {
    semver::Version::parse(name).ok()
}

/// Major and minor of a release name, or of a bare `4.18`-style minor version.
pub(crate) fn major_minor(name: &str) -> Option<(u64, u64)> {
    if let Some(v) = parse(name) {
        return Some((v.major, v.minor));
    }
    let (major, minor) = name.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Orders two release names: versions by semver precedence, others after them by name.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp_precedence(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_okd_names() {
        assert_eq!(
            compare("4.19.0-okd-scos.9", "4.19.0-okd-scos.19"),
            Ordering::Less
        );
        assert_eq!(
            compare("4.19.0-okd-scos.1", "not-a-version"),
            Ordering::Less
        );
        assert_eq!(
            compare("4.18.0-okd-scos.9", "4.19.0-okd-scos.0"),
            Ordering::Less
        );
        assert_eq!(major_minor("4.18"), Some((4, 18)));
        assert_eq!(
            major_minor("4.19.0-0.okd-scos-2025-01-30-032525"),
            Some((4, 19))
        );
    }
}
