//! Reading a manifest file as the cluster-version operator reads it (library-go
//! `manifest.ParseManifests`): a stream of YAML documents, or of JSON objects when the file
//! starts with `{`; empty and `null` documents are skipped; every other document must be an
//! object with a `kind` and a `metadata.name`; one file may not hold the same resource twice.
//! Any failure rejects the file, and with it the whole payload.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

/// A resource's identity, as the CVO compares them: API group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ResourceId {
    /// API group (`apps`; empty for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        if self.namespace.is_empty() {
            write!(f, "{kind} {}", self.name)
        } else {
            write!(f, "{kind} {}/{}", self.namespace, self.name)
        }
    }
}

/// One object of a manifest file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Its identity.
    pub id: ResourceId,
    /// `metadata.annotations`; `None` when absent or when any value is not a string (the CVO
    /// then sees no annotations at all).
    pub annotations: Option<BTreeMap<String, String>>,
    /// The object.
    pub object: Value,
}

/// Why a file is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Not YAML or JSON, or a document that is not an object or has no kind.
    Parse(String),
    /// A document without `metadata.name`.
    MissingName(String),
    /// The same resource twice in the file.
    Duplicate(ResourceId),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Parse(r) => write!(f, "{r}"),
            FileError::MissingName(r) => write!(f, "{r}"),
            FileError::Duplicate(id) => write!(f, "duplicate resource: {id}"),
        }
    }
}

/// True for the file names the CVO loads (`.yaml`, `.yml`, `.json`).
pub fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|s| name.ends_with(s))
}

/// Parses one manifest file.
pub fn parse_file(data: &[u8]) -> Result<Vec<Document>, FileError> {
    let values = if data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        json_values(data)?
    } else {
        yaml_values(data)?
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, value) in values.into_iter().enumerate() {
        if value.is_null() {
            continue;
        }
        let doc = document(value, i)?;
        if !seen.insert(doc.id.clone()) {
            return Err(FileError::Duplicate(doc.id));
        }
        out.push(doc);
    }
    Ok(out)
}

fn json_values(data: &[u8]) -> Result<Vec<Value>, FileError> {
    serde_json::Deserializer::from_slice(data)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(|e| FileError::Parse(format!("error parsing: {e}")))
}

fn yaml_values(data: &[u8]) -> Result<Vec<Value>, FileError> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_slice(data) {
        let v =
            Value::deserialize(doc).map_err(|e| FileError::Parse(format!("error parsing: {e}")))?;
        out.push(v);
    }
    Ok(out)
}

fn document(object: Value, index: usize) -> Result<Document, FileError> {
    let Some(map) = object.as_object() else {
        return Err(FileError::Parse(format!(
            "document {} is not an object",
            index + 1
        )));
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let kind = text(map.get("kind"));
    if kind.is_empty() {
        return Err(FileError::Parse(format!(
            "document {}: unable to decode manifest: Object 'Kind' is missing",
            index + 1
        )));
    }
    let api_version = text(map.get("apiVersion"));
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    let metadata = map.get("metadata").and_then(Value::as_object);
    let id = ResourceId {
        group,
        kind,
        namespace: text(metadata.and_then(|m| m.get("namespace"))),
        name: text(metadata.and_then(|m| m.get("name"))),
    };
    if id.name.is_empty() {
        return Err(FileError::MissingName(format!(
            "document {}: resource {id} must contain the kubernetes required fields kind and name",
            index + 1
        )));
    }
    let annotations = metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .and_then(|a| {
            a.iter()
                .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect::<Option<BTreeMap<_, _>>>()
        });
    Ok(Document {
        id,
        annotations,
        object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_and_empty_ones_skipped() {
        let docs = parse_file(b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\nnull\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: n}\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].id.group, "apps");
        assert_eq!(docs[1].id.to_string(), "Deployment.apps n/b");
    }

    #[test]
    fn json_streams_are_read_as_json() {
        let docs = parse_file(br#" {"apiVersion":"v1","kind":"A","metadata":{"name":"x"}} {"apiVersion":"v1","kind":"A","metadata":{"name":"y"}}"#).unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn missing_name_kind_and_duplicates_reject_the_file() {
        assert!(matches!(
            parse_file(b"apiVersion: v1\nkind: A\nmetadata: {}\n"),
            Err(FileError::MissingName(_))
        ));
        assert!(matches!(
            parse_file(b"apiVersion: v1\nmetadata: {name: a}\n"),
            Err(FileError::Parse(_))
        ));
        assert!(matches!(
            parse_file(b"kind: A\nmetadata: {name: a}\n---\nkind: A\nmetadata: {name: a}\n"),
            Err(FileError::Duplicate(_))
        ));
        assert!(matches!(parse_file(b"kind: [\n"), Err(FileError::Parse(_))));
        assert!(matches!(parse_file(b"- a\n"), Err(FileError::Parse(_))));
    }

    #[test]
    fn a_non_string_annotation_hides_them_all() {
        let docs = parse_file(
            b"kind: A\nmetadata:\n  name: a\n  annotations:\n    x: \"1\"\n    y: true\n",
        )
        .unwrap();
        assert_eq!(docs[0].annotations, None);
    }
}
