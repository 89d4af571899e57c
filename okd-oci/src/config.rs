//! Image configurations (the config blob of an image manifest), edited as JSON.
//!
//! Docker and OCI configs carry many fields okd-streams has no reason to model
//! (`container_config`, `docker_version`, `moby.buildkit.*`, vendor extensions). [`ImageConfig`]
//! therefore holds the document as a [`serde_json::Value`] and edits only what it is asked to:
//! labels, `created`, `rootfs.diff_ids` and `history`. Everything else survives untouched.
//!
//! [`ImageConfig::to_bytes`] writes compact JSON with object keys sorted, so the same document
//! always gives the same bytes, and therefore the same digest.
//!
//! ```
//! use okd_oci::{Digest, ImageConfig, config::History};
//!
//! let base = br#"{"architecture":"amd64","os":"linux","config":{"Labels":null},
//!                 "rootfs":{"type":"layers","diff_ids":[]},"vendor-field":42}"#;
//! let mut config = ImageConfig::from_bytes(base, &Digest::sha256_of(base))?;
//! config.set_label("io.openshift.release", "4.19.0-okd-scos.1");
//! config.push_layer(&Digest::sha256_of(b"tar"), History::created_by("okd-streams"));
//! assert_eq!(config.label("io.openshift.release"), Some("4.19.0-okd-scos.1"));
//! assert_eq!(config.diff_ids()?.len(), 1);
//! assert_eq!(config.value()["vendor-field"], 42);
//! # Ok::<(), okd_oci::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::{Digest, Error};

/// One `history` entry of an image config, as the OCI image spec and Docker define it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// RFC 3339 creation time.
    pub created: Option<String>,
    /// The command that created the layer.
    pub created_by: Option<String>,
    /// Who created it.
    pub author: Option<String>,
    /// A free-form comment.
    pub comment: Option<String>,
    /// True when the entry made no layer (a label or environment change).
    pub empty_layer: bool,
}

impl History {
    /// An entry with only `created_by` set.
    pub fn created_by(created_by: impl Into<String>) -> History {
        History {
            created_by: Some(created_by.into()),
            ..History::default()
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), Value::String(v.clone()));
            }
        };
        put("created", &self.created);
        put("created_by", &self.created_by);
        put("author", &self.author);
        put("comment", &self.comment);
        if self.empty_layer {
            m.insert("empty_layer".to_string(), Value::Bool(true));
        }
        Value::Object(m)
    }
}

/// Formats a timestamp as image configs carry it (RFC 3339, UTC, `Z`).
pub fn format_created(created: DateTime<Utc>) -> String {
    created.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An image configuration kept as JSON. See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    value: Map<String, Value>,
    /// The blob it was read from, to name it in errors.
    origin: Option<Digest>,
}

impl ImageConfig {
    /// Parses a config blob; `digest` names it in errors.
    pub fn from_bytes(bytes: &[u8], digest: &Digest) -> Result<ImageConfig, Error> {
        let invalid = |reason: String| Error::InvalidConfig {
            digest: digest.clone(),
            reason,
        };
        match serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))? {
            Value::Object(value) => Ok(ImageConfig {
                value,
                origin: Some(digest.clone()),
            }),
            other => Err(invalid(format!("expected a JSON object, found {other}"))),
        }
    }

    /// A config from a JSON object.
    pub fn from_map(value: Map<String, Value>) -> ImageConfig {
        ImageConfig {
            value,
            origin: None,
        }
    }

    /// The whole document.
    pub fn value(&self) -> &Map<String, Value> {
        &self.value
    }

    /// The whole document, for edits this type has no method for.
    pub fn value_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.value
    }

    /// The `os` field.
    pub fn os(&self) -> Option<&str> {
        self.value.get("os").and_then(Value::as_str)
    }

    /// The `architecture` field.
    pub fn architecture(&self) -> Option<&str> {
        self.value.get("architecture").and_then(Value::as_str)
    }

    /// The labels (`config.Labels`); values that are not strings are skipped.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.labels_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One label.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels_object()?.get(key)?.as_str()
    }

    /// Sets a label, creating `config` and `config.Labels` when absent or null.
    pub fn set_label(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.labels_mut()
            .insert(key.into(), Value::String(value.into()));
    }

    /// Removes a label, returning its value.
    pub fn remove_label(&mut self, key: &str) -> Option<String> {
        let removed = self
            .value
            .get_mut("config")?
            .get_mut("Labels")?
            .as_object_mut()?
            .remove(key)?;
        Some(match removed {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Sets `created`.
    pub fn set_created(&mut self, created: DateTime<Utc>) {
        self.value
            .insert("created".to_string(), format_created(created).into());
    }

    /// `rootfs.diff_ids`, one per layer of the image, bottom first.
    pub fn diff_ids(&self) -> Result<Vec<Digest>, Error> {
        let Some(ids) = self.value.get("rootfs").and_then(|r| r.get("diff_ids")) else {
            return Ok(Vec::new());
        };
        let ids = match ids {
            Value::Null => return Ok(Vec::new()),
            Value::Array(a) => a,
            other => return Err(self.invalid(format!("rootfs.diff_ids is {other}"))),
        };
        ids.iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| self.invalid(format!("rootfs.diff_ids entry {v}")))?
                    .parse()
                    .map_err(|e: Error| self.invalid(format!("rootfs.diff_ids: {e}")))
            })
            .collect()
    }

    /// The `history` entries as JSON.
    pub fn history(&self) -> &[Value] {
        match self.value.get("history") {
            Some(Value::Array(a)) => a,
            _ => &[],
        }
    }

    /// Records a new top layer: appends its `diff_id` to `rootfs.diff_ids` (creating `rootfs`
    /// when absent) and `history` to the history.
    pub fn push_layer(&mut self, diff_id: &Digest, history: History) {
        let rootfs = object_entry(&mut self.value, "rootfs");
        rootfs
            .entry("type")
            .or_insert_with(|| Value::String("layers".to_string()));
        array_entry(rootfs, "diff_ids").push(Value::String(diff_id.to_string()));
        self.push_history(history);
    }

    /// Appends a history entry without a layer (set `empty_layer` for label-only changes).
    pub fn push_history(&mut self, history: History) {
        array_entry(&mut self.value, "history").push(history.to_value());
    }

    /// The config as bytes: compact JSON with object keys sorted.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Value::Object(self.value.clone());
        v.sort_all_objects();
        // A JSON value always serialises.
        serde_json::to_vec(&v).unwrap_or_else(|e| unreachable!("config serialises: {e}"))
    }

    fn labels_object(&self) -> Option<&Map<String, Value>> {
        self.value.get("config")?.get("Labels")?.as_object()
    }

    fn labels_mut(&mut self) -> &mut Map<String, Value> {
        let config = object_entry(&mut self.value, "config");
        object_entry(config, "Labels")
    }

    fn invalid(&self, reason: String) -> Error {
        Error::InvalidConfig {
            digest: self
                .origin
                .clone()
                .unwrap_or_else(|| Digest::sha256_of(&self.to_bytes())),
            reason,
        }
    }
}

/// `map[key]` as an object, replacing a missing, null or non-object value with `{}`.
fn object_entry<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("replaced by an object above"),
    }
}

/// `map[key]` as an array, replacing a missing, null or non-array value with `[]`.
fn array_entry<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Vec<Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(a) => a,
        _ => unreachable!("replaced by an array above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ImageConfig {
        ImageConfig::from_bytes(text.as_bytes(), &Digest::sha256_of(text.as_bytes()))
            .expect("must succeed")
    }

    #[test]
    fn labels_null_and_missing() {
        let mut c = config(r#"{"config":{"Labels":null}}"#);
        assert!(c.labels().is_empty());
        c.set_label("a", "1");
        assert_eq!(c.label("a"), Some("1"));
        let mut c = config("{}");
        assert_eq!(c.remove_label("a"), None);
        c.set_label("b", "2");
        assert_eq!(c.remove_label("b").as_deref(), Some("2"));
        assert!(c.labels().is_empty());
    }

    #[test]
    fn bytes_are_canonical() {
        let a = config(r#"{"b":1,"a":{"z":1,"y":2}}"#);
        let b = config(r#"{"a":{"y":2,"z":1},"b":1}"#);
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_eq!(a.to_bytes(), br#"{"a":{"y":2,"z":1},"b":1}"#);
    }

    #[test]
    fn bad_diff_ids_name_the_blob() {
        let text = r#"{"rootfs":{"type":"layers","diff_ids":["nope"]}}"#;
        let c = config(text);
        let err = c.diff_ids().expect_err("must fail");
        assert!(
            err.to_string()
                .contains(&Digest::sha256_of(text.as_bytes()).to_string()),
            "{err}"
        );
    }

    #[test]
    fn rejects_non_object() {
        let err =
            ImageConfig::from_bytes(b"[1]", &Digest::sha256_of(b"[1]")).expect_err("must fail");
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    }

    #[test]
    fn created_format() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).expect("must succeed");
        assert_eq!(format_created(t), "2023-11-14T22:13:20Z");
    }
}
