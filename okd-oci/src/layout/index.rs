//! `index.json` of an OCI image layout, and how okd-streams maps repositories and tags onto it.
//!
//! The image-layout spec gives `index.json` the shape of an image index whose descriptors carry
//! an `org.opencontainers.image.ref.name` annotation. okd-streams writes `REPO:TAG` there (or a
//! plain `TAG` for the unnamed repository `""`), which is also what `skopeo copy …
//! oci:DIR:REPO:TAG` writes, so one layout holds many repositories.
//!
//! The types keep every field they do not know (`platform`, `urls`, index annotations, …) so a
//! rewrite of `index.json` loses nothing another tool put there, and an entry with a media type or
//! digest okd-streams does not understand is carried along untouched rather than refused.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Digest, Error, media_type};

/// Upper bound on `index.json`: far above any real layout (a tagged entry is ~250 bytes), low
/// enough that a corrupt file cannot exhaust memory.
pub(crate) const MAX_INDEX_SIZE: u64 = 256 * 1024 * 1024;

/// The annotation holding an entry's name.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The whole `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexFile {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<IndexEntry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One descriptor of `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IndexEntry {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    /// Kept as text: an entry with a digest okd-streams cannot verify is tolerated, not refused.
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IndexEntry {
    /// An entry pointing at a manifest under `name`.
    pub fn named(media_type: &str, digest: &Digest, size: u64, name: String) -> IndexEntry {
        IndexEntry {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size,
            annotations: Some(BTreeMap::from([(REF_NAME.to_string(), name)])),
            extra: Map::new(),
        }
    }

    /// The entry's `ref.name`, if it has one.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations
            .as_ref()
            .and_then(|a| a.get(REF_NAME))
            .map(String::as_str)
    }

    /// The entry's digest, when it is one okd-streams can verify.
    pub fn parsed_digest(&self) -> Option<Digest> {
        self.digest.parse().ok()
    }
}

/// The `ref.name` okd-streams writes for `repo:tag`.
pub(crate) fn ref_name(repo: &str, tag: &str) -> String {
    if repo.is_empty() {
        tag.to_string()
    } else {
        format!("{repo}:{tag}")
    }
}

/// Splits a `ref.name` into repository and tag: everything after the last `:` is the tag, and a
/// name without `:` is a tag of the unnamed repository.
pub(crate) fn split_ref_name(name: &str) -> (&str, &str) {
    name.rsplit_once(':').unwrap_or(("", name))
}

impl IndexFile {
    /// An empty index.
    pub fn empty() -> IndexFile {
        IndexFile {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.to_string()),
            manifests: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Parses the `index.json` of the layout at `path`.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<IndexFile, Error> {
        let index: IndexFile = serde_json::from_slice(bytes).map_err(|e| Error::InvalidLayout {
            path: path.to_path_buf(),
            reason: format!("index.json: {e}"),
        })?;
        if index.schema_version != 2 {
            return Err(Error::InvalidLayout {
                path: path.to_path_buf(),
                reason: format!(
                    "index.json: schemaVersion {} (expected 2)",
                    index.schema_version
                ),
            });
        }
        Ok(index)
    }

    /// The serialised form written to disk.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain structs, strings and JSON values cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|e| unreachable!("index.json serialises: {e}"))
    }

    /// The entry `repo:tag` names. Like containers/image, the first match wins.
    pub fn find_tag(&self, repo: &str, tag: &str) -> Option<&IndexEntry> {
        let name = ref_name(repo, tag);
        self.manifests
            .iter()
            .find(|e| e.ref_name() == Some(name.as_str()))
    }

    /// Any entry pointing at `digest`.
    pub fn find_digest(&self, digest: &Digest) -> Option<&IndexEntry> {
        let text = digest.to_string();
        self.manifests.iter().find(|e| e.digest == text)
    }

    /// Points `repo:tag` at `entry`, replacing the first entry of that name in place and dropping
    /// any duplicates. Returns false when the index already said exactly that.
    pub fn set_tag(&mut self, repo: &str, tag: &str, entry: IndexEntry) -> bool {
        let name = ref_name(repo, tag);
        let mut positions = self
            .manifests
            .iter()
            .enumerate()
            .filter(|(_, e)| e.ref_name() == Some(name.as_str()))
            .map(|(i, _)| i);
        match positions.next() {
            Some(first) if positions.next().is_none() && self.manifests[first] == entry => false,
            Some(first) => {
                self.manifests[first] = entry;
                let mut i = 0;
                self.manifests.retain(|e| {
                    let keep = i <= first || e.ref_name() != Some(name.as_str());
                    i += 1;
                    keep
                });
                true
            }
            None => {
                self.manifests.push(entry);
                true
            }
        }
    }

    /// Removes every entry named `repo:tag`. Returns false when there was none.
    pub fn remove_tag(&mut self, repo: &str, tag: &str) -> bool {
        let name = ref_name(repo, tag);
        let before = self.manifests.len();
        self.manifests
            .retain(|e| e.ref_name() != Some(name.as_str()));
        self.manifests.len() != before
    }

    /// The tags of `repo`, sorted and without duplicates.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let mut tags: Vec<String> = self
            .manifests
            .iter()
            .filter_map(IndexEntry::ref_name)
            .map(split_ref_name)
            .filter(|(r, _)| *r == repo)
            .map(|(_, t)| t.to_string())
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// Every repository with at least one tag, sorted; the unnamed repository is `""`.
    pub fn repositories(&self) -> Vec<String> {
        let mut repos: Vec<String> = self
            .manifests
            .iter()
            .filter_map(IndexEntry::ref_name)
            .map(|n| split_ref_name(n).0.to_string())
            .collect();
        repos.sort();
        repos.dedup();
        repos
    }
}

/// Reads and parses `index.json` from blocking code, refusing an implausibly large one.
pub(crate) fn read_blocking(root: &Path) -> Result<IndexFile, Error> {
    use std::io::Read as _;
    let path = root.join("index.json");
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_INDEX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&path, e))?;
    if bytes.len() as u64 > MAX_INDEX_SIZE {
        return Err(too_large(root, bytes.len() as u64));
    }
    IndexFile::parse(&bytes, root)
}

pub(crate) fn too_large(root: &Path, size: u64) -> Error {
    Error::InvalidLayout {
        path: root.to_path_buf(),
        reason: format!("index.json is {size} bytes, over the {MAX_INDEX_SIZE}-byte limit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_fields_and_entries() {
        let text = r#"{"schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.example.thing","digest":"sha384:abc","size":3,
             "platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":10,
             "annotations":{"org.opencontainers.image.ref.name":"okd/release:4.19","x":"y"}}
        ],"annotations":{"made-by":"someone"}}"#;
        let index = IndexFile::parse(text.as_bytes(), Path::new("x")).expect("must succeed");
        assert_eq!(index.tags("okd/release"), ["4.19"]);
        assert_eq!(index.repositories(), ["okd/release"]);
        let again: Value = serde_json::from_slice(&index.to_bytes()).expect("must succeed");
        let orig: Value = serde_json::from_str(text).expect("must succeed");
        assert_eq!(again["annotations"], orig["annotations"]);
        assert_eq!(again["manifests"][0], orig["manifests"][0]);
        assert_eq!(again["manifests"][1], orig["manifests"][1]);
    }

    #[test]
    fn set_tag_replaces_in_place_and_drops_duplicates() {
        let d = |b: &[u8]| Digest::sha256_of(b);
        let mut index = IndexFile::empty();
        let e = |x: &[u8], n: &str| IndexEntry::named("m", &d(x), 1, n.to_string());
        assert!(index.set_tag("", "a", e(b"1", "a")));
        assert!(index.set_tag("r", "b", e(b"2", "r:b")));
        index.manifests.push(e(b"3", "a"));
        assert!(index.set_tag("", "a", e(b"4", "a")));
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(index.manifests[0].digest, d(b"4").to_string());
        assert!(!index.set_tag("", "a", e(b"4", "a")));
        assert!(index.remove_tag("r", "b"));
        assert!(!index.remove_tag("r", "b"));
        assert_eq!(index.tags(""), ["a"]);
    }

    #[test]
    fn names_split_on_the_last_colon() {
        assert_eq!(split_ref_name("latest"), ("", "latest"));
        assert_eq!(split_ref_name("okd/release:4.19"), ("okd/release", "4.19"));
        assert_eq!(
            split_ref_name("localhost:5000/x:y"),
            ("localhost:5000/x", "y")
        );
        assert_eq!(ref_name("", "t"), "t");
        assert_eq!(ref_name("a/b", "t"), "a/b:t");
    }
}
