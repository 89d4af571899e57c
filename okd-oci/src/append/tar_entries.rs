//! The entries a prebuilt layer tarball may hold.
//!
//! A tarball handed to [`NewLayer::from_tarball`](super::NewLayer::from_tarball) is used as it
//! is, so its entries are checked once, while its digests are computed, by the same rules a
//! layer built from a directory follows: names are relative and never contain `..`, hard links
//! name another entry of the archive, a relative symbolic link never climbs above the image root
//! (an absolute target is resolved inside the image by whoever unpacks it), and there are no
//! devices or FIFOs. An extractor that trusts the archive can then not be made to write outside
//! its destination or create device nodes.

use std::io::{self, Read};
use std::path::Path;

use crate::Error;

/// Reads the tar archive in `reader` up to its end marker, refusing the first unsafe entry.
/// Whatever follows the end marker is left unread.
pub(crate) fn check_entries(reader: &mut dyn Read, archive: &Path) -> Result<(), Error> {
    let unreadable = |e: io::Error| Error::Layer {
        what: archive.display().to_string(),
        reason: format!("not a readable tar archive: {e}"),
    };
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refuse = |reason: String| Error::UnsafeTarEntry {
            archive: archive.to_path_buf(),
            entry: name.clone(),
            reason,
        };
        let depth = relative_components(&name).map_err(&refuse)?.len();
        let kind = entry.header().entry_type();
        let target = || {
            entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default()
        };
        match kind {
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let what = match kind {
                    tar::EntryType::Char => "character device",
                    tar::EntryType::Block => "block device",
                    _ => "FIFO",
                };
                return Err(refuse(format!(
                    "a {what}; layers hold only regular files, directories and links"
                )));
            }
            tar::EntryType::Link => {
                let target = target();
                relative_components(&target)
                    .map_err(|why| refuse(format!("hard link to {target:?}: {why}")))?;
            }
            tar::EntryType::Symlink => {
                let target = target();
                if climbs_out(depth.saturating_sub(1), &target) {
                    return Err(refuse(format!(
                        "symbolic link to {target:?} leads out of the image root"
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The components of an entry name, without leading `./`, or why the name is unsafe.
fn relative_components(name: &str) -> Result<Vec<&str>, String> {
    let mut rel = name;
    while let Some(rest) = rel.strip_prefix("./") {
        rel = rest;
    }
    if rel.starts_with('/') {
        return Err("an absolute path".to_string());
    }
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("the path contains `..`".to_string());
    }
    Ok(parts)
}

/// True when a relative link `target` in a directory `depth` levels below the root climbs above
/// the root at some point.
fn climbs_out(mut depth: usize, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            relative_components("./usr/bin/x"),
            Ok(vec!["usr", "bin", "x"])
        );
        assert_eq!(relative_components("./"), Ok(vec![]));
        assert!(relative_components("/etc/passwd").is_err());
        assert!(relative_components("usr/../../etc").is_err());
        assert!(relative_components("././/etc/..").is_err());
    }

    #[test]
    fn link_climbs() {
        assert!(!climbs_out(1, "../lib/x"));
        assert!(climbs_out(1, "../../etc/shadow"));
        assert!(climbs_out(0, ".."));
        assert!(!climbs_out(0, "/etc/shadow"));
        assert!(climbs_out(2, "a/../../../../x"));
        assert!(!climbs_out(2, "./../.."));
    }
}
