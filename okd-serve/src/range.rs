//! The `?in=` semantic version range of the release-controller API (blang/semver syntax:
//! comparators separated by spaces are ANDed, `||` ORs groups: `>=4.19.0 <4.20.0 || 4.21.0`).

use semver::Version;

/// A parsed range.
#[derive(Debug, Clone)]
pub struct VersionRange {
    any_of: Vec<Vec<(Op, Version)>>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl VersionRange {
    /// Parses `text`; the error says which comparator is wrong.
    pub fn parse(text: &str) -> Result<VersionRange, String> {
        let mut any_of = Vec::new();
        for group in text.split("||") {
            let mut all = Vec::new();
            for c in group.split_whitespace() {
                let (op, rest) = [
                    (">=", Op::Ge),
                    ("<=", Op::Le),
                    ("!=", Op::Ne),
                    ("==", Op::Eq),
                    (">", Op::Gt),
                    ("<", Op::Lt),
                    ("=", Op::Eq),
                ]
                .iter()
                .find_map(|(p, op)| c.strip_prefix(p).map(|r| (*op, r)))
                .unwrap_or((Op::Eq, c));
                let v = Version::parse(rest)
                    .map_err(|e| format!("could not parse Range {text:?}: {rest:?}: {e}"))?;
                all.push((op, v));
            }
            if all.is_empty() {
                return Err(format!("could not parse Range {text:?}: empty group"));
            }
            any_of.push(all);
        }
        Ok(VersionRange { any_of })
    }

    /// True when `v` is in the range (pre-releases compare as semver orders them).
    pub fn contains(&self, v: &Version) -> bool {
        self.any_of.iter().any(|all| {
            all.iter().all(|(op, c)| match op {
                Op::Eq => v == c,
                Op::Ne => v != c,
                Op::Gt => v > c,
                Op::Ge => v >= c,
                Op::Lt => v < c,
                Op::Le => v <= c,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_the_controller_reads_them() {
        let r = VersionRange::parse(">=4.19.0-0 <4.20.0-0").unwrap();
        assert!(r.contains(&Version::parse("4.19.0-okd-scos.3").unwrap()));
        assert!(!r.contains(&Version::parse("4.20.0-okd-scos.1").unwrap()));
        let r = VersionRange::parse("4.18.1 || >4.19.2").unwrap();
        assert!(r.contains(&Version::parse("4.18.1").unwrap()));
        assert!(!r.contains(&Version::parse("4.19.1").unwrap()));
        assert!(VersionRange::parse(">=four").is_err());
        assert!(VersionRange::parse("").is_err());
    }
}
