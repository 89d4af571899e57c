//! `TAG=PULLSPEC` overrides: read from a mapping file, and never dropped without a word.
//!
//! A mapping file holds what `oc adm release new --mapping-file` reads: `SRC=DST` pairs, one or
//! more to a line separated by spaces, `#` starting a comment, blank lines ignored.
//!
//! ```
//! use okd_release::builder::parse_mappings;
//!
//! let pairs = parse_mappings("# OS image\nstream-coreos=quay.io/okd/os@sha256:0123 cli=quay.io/okd/cli:v1\n", "map.txt")?;
//! assert_eq!(pairs[1], ("cli".to_string(), "quay.io/okd/cli:v1".to_string()));
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::path::Path;

use super::ReleaseBuilder;
use crate::Error;

/// The `SRC=DST` pairs of a mapping file's text, in file order. `file` names the file in
/// errors, which give the line number of the first bad line.
///
/// Pairs may be separated by any run of spaces or tabs (`oc` splits on single spaces and
/// refuses a line with two in a row).
pub fn parse_mappings(text: &str, file: &str) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        for word in line.split_whitespace() {
            match word.split_once('=') {
                Some((src, dst)) if !src.is_empty() && !dst.is_empty() => {
                    pairs.push((src.to_string(), dst.to_string()));
                }
                _ => {
                    return Err(Error::InvalidMapping {
                        file: file.to_string(),
                        line: i + 1,
                        reason: format!("{word:?} is not a SRC=DST mapping"),
                    });
                }
            }
        }
    }
    Ok(pairs)
}

impl ReleaseBuilder {
    /// Applies every `SRC=DST` pair of the mapping file at `path` as an override
    /// ([`ReleaseBuilder::override_arg`]), as `oc adm release new --mapping-file` does.
    pub fn mapping_file(mut self, path: &Path) -> Result<Self, Error> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidMapping {
            file: name.clone(),
            line: 0,
            reason: format!("cannot be read: {e}"),
        })?;
        for (tag, pullspec) in parse_mappings(&text, &name)? {
            self = self.override_arg(&format!("{tag}={pullspec}"))?;
        }
        Ok(self)
    }

    /// Fails when pruning dropped a tag given as an override (see [`Error::PrunedOverride`]).
    pub(super) fn refuse_pruned_overrides(
        &self,
        name: &str,
        pruned: &[String],
    ) -> Result<(), Error> {
        match self
            .overrides
            .iter()
            .find(|(tag, _)| pruned.contains(tag) && !self.exclude.contains(tag))
        {
            Some((tag, pullspec)) => Err(Error::PrunedOverride {
                name: name.to_string(),
                tag: tag.clone(),
                pullspec: pullspec.clone(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_several_pairs_a_line() {
        let text = "\n# a comment\n  a=x/a:1  b=x/b@sha256:00 # trailing\n\t\nc=d=e\n";
        assert_eq!(
            parse_mappings(text, "m").unwrap(),
            [
                ("a".to_string(), "x/a:1".to_string()),
                ("b".to_string(), "x/b@sha256:00".to_string()),
                ("c".to_string(), "d=e".to_string()),
            ]
        );
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        for (text, line) in [("a=b\n\nnot-a-pair\n", 3), ("# x\n=b\n", 2), ("a=\n", 1)] {
            let e = parse_mappings(text, "map.txt").unwrap_err();
            assert!(
                matches!(&e, Error::InvalidMapping { line: l, .. } if *l == line),
                "{text:?}: {e}"
            );
            assert!(
                e.to_string()
                    .starts_with(&format!("mapping file map.txt, line {line}: ")),
                "{e}"
            );
        }
    }
}
