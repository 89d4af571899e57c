//! Reading `registries.conf` files: the wire format, its checks, where the files are and how
//! drop-in files merge.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Mirror, PullFromMirror, RegistriesConf, RegistryEntry};
use crate::Error;

/// The environment variable that names the one registries.conf file to read, as for podman and
/// skopeo.
pub const REGISTRIES_CONF_ENV: &str = "CONTAINERS_REGISTRIES_CONF";

/// A file as written: version 2 tables and the version 1 ones, so either can be read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct WireConf {
    unqualified_search_registries: Option<Vec<String>>,
    registry: Option<Vec<WireRegistry>>,
    /// Version 1: `[registries.search]`, `[registries.insecure]`, `[registries.block]`.
    registries: Option<WireV1>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct WireRegistry {
    prefix: Option<String>,
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    /// Allowed on mirrors only; read here to refuse it as the containers tools do.
    pull_from_mirror: Option<String>,
    #[serde(default)]
    mirror: Vec<WireMirror>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct WireMirror {
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireV1 {
    search: Option<WireV1List>,
    insecure: Option<WireV1List>,
    block: Option<WireV1List>,
}

#[derive(Debug, Deserialize)]
struct WireV1List {
    #[serde(default)]
    registries: Vec<String>,
}

/// Where the standard search looks (see [`RegistriesConf::load`]); a test or a program with
/// its own layout gives other paths to [`RegistriesConf::load_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfSearch {
    /// The system file (`/etc/containers/registries.conf`); a missing one is no error.
    pub system_file: PathBuf,
    /// The system drop-in directory (`/etc/containers/registries.conf.d`).
    pub system_dir: PathBuf,
    /// The per-user file (`$HOME/.config/containers/registries.conf`): when it exists it is
    /// read instead of the system file and the system drop-ins.
    pub user_file: Option<PathBuf>,
    /// The per-user drop-in directory (`$HOME/.config/containers/registries.conf.d`).
    pub user_dir: Option<PathBuf>,
}

impl ConfSearch {
    /// The paths the containers tools use.
    pub fn standard() -> ConfSearch {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        ConfSearch {
            system_file: PathBuf::from("/etc/containers/registries.conf"),
            system_dir: PathBuf::from("/etc/containers/registries.conf.d"),
            user_file: home
                .as_ref()
                .map(|h| h.join(".config/containers/registries.conf")),
            user_dir: home.map(|h| h.join(".config/containers/registries.conf.d")),
        }
    }
}

/// One file, parsed and checked; `search_set` says whether it set
/// `unqualified-search-registries` (a drop-in that does replaces the list).
struct Parsed {
    conf: RegistriesConf,
    search_set: bool,
}

impl RegistriesConf {
    /// Parses the text of one registries.conf `file` (named in errors and in the entries).
    pub fn parse(text: &str, file: &Path) -> Result<RegistriesConf, Error> {
        parse_file(text, file, false).map(|p| p.conf)
    }

    /// Reads one file, which must exist.
    pub fn read(path: &Path) -> Result<RegistriesConf, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut conf = RegistriesConf::parse(&text, path)?;
        conf.whole = true;
        Ok(conf)
    }

    /// The configuration okd-streams uses:
    ///
    /// * `explicit` (`--registries-conf FILE`) when given, else the file named by
    ///   `$CONTAINERS_REGISTRIES_CONF`: that file alone, which must exist. An explicit file is
    ///   the whole configuration, so an air-gapped setup is not changed by the drop-ins of the
    ///   machine it runs on (podman would still merge the system drop-ins).
    /// * otherwise the standard search of the containers tools ([`ConfSearch::standard`],
    ///   [`RegistriesConf::load_from`]).
    pub fn load(explicit: Option<&Path>) -> Result<RegistriesConf, Error> {
        if let Some(path) = explicit {
            return RegistriesConf::read(path);
        }
        if let Some(path) = std::env::var_os(REGISTRIES_CONF_ENV).filter(|p| !p.is_empty()) {
            return RegistriesConf::read(Path::new(&path));
        }
        RegistriesConf::load_from(&ConfSearch::standard())
    }

    /// The containers search over `paths`: the per-user file if it exists, with the per-user
    /// drop-ins; else the system file (missing: empty) with the system drop-ins, then the
    /// per-user ones. Drop-ins are the `*.conf` files of a directory in name order, in the
    /// version 2 format; each replaces the entries of the same prefix and, when it sets one,
    /// the `unqualified-search-registries` list.
    pub fn load_from(paths: &ConfSearch) -> Result<RegistriesConf, Error> {
        let user_file = paths.user_file.as_ref().filter(|f| f.exists());
        let (mut conf, dirs) = match user_file {
            Some(file) => (RegistriesConf::read(file)?, vec![paths.user_dir.clone()]),
            None => {
                let conf = match std::fs::read_to_string(&paths.system_file) {
                    Ok(text) => RegistriesConf::parse(&text, &paths.system_file)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => RegistriesConf::default(),
                    Err(e) => return Err(Error::io(&paths.system_file, e)),
                };
                let dirs = vec![Some(paths.system_dir.clone()), paths.user_dir.clone()];
                (conf, dirs)
            }
        };
        for dir in dirs.into_iter().flatten() {
            for file in drop_ins(&dir)? {
                let text = match std::fs::read_to_string(&file) {
                    Ok(text) => text,
                    // Removed since the listing.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(&file, e)),
                };
                conf.merge(parse_file(&text, &file, true)?);
            }
        }
        // Found by the search, even when it is one file: tools started from here search too.
        conf.whole = false;
        Ok(conf)
    }

    fn merge(&mut self, drop_in: Parsed) {
        let mut by_prefix: BTreeMap<String, RegistryEntry> = self
            .registries
            .drain(..)
            .map(|r| (r.prefix.clone(), r))
            .collect();
        for r in drop_in.conf.registries {
            by_prefix.insert(r.prefix.clone(), r);
        }
        self.registries = by_prefix.into_values().collect();
        if drop_in.search_set {
            self.unqualified_search_registries = drop_in.conf.unqualified_search_registries;
        }
        self.files.extend(drop_in.conf.files);
    }
}

/// The `*.conf` files directly in `dir`, in name order; none when it does not exist.
fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let is_file = entry
            .file_type()
            .map_err(|e| Error::io(&path, e))?
            .is_file()
            || path.metadata().is_ok_and(|m| m.is_file());
        if is_file && path.extension().is_some_and(|x| x == "conf") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn parse_file(text: &str, file: &Path, drop_in: bool) -> Result<Parsed, Error> {
    let invalid = |reason: String| Error::RegistriesConf {
        path: file.to_path_buf(),
        reason,
    };
    let wire: WireConf = toml::from_str(text).map_err(|e| invalid(toml_error(text, &e)))?;
    let v1 = wire.registries;
    let v2_set = wire.registry.as_ref().is_some_and(|r| !r.is_empty())
        || wire
            .unqualified_search_registries
            .as_ref()
            .is_some_and(|s| !s.is_empty());
    let (registries, search) = match v1 {
        Some(_) if drop_in => {
            return Err(invalid(
                "a drop-in file must use the version 2 format ([[registry]] tables), \
                 not [registries.*]"
                    .to_string(),
            ));
        }
        Some(v1) if v1_set(&v1) && v2_set => {
            return Err(invalid(
                "mixes the version 1 [registries.*] tables with the version 2 format".to_string(),
            ));
        }
        Some(v1) if v1_set(&v1) => convert_v1(v1),
        _ => (
            wire.registry.unwrap_or_default(),
            wire.unqualified_search_registries,
        ),
    };
    let search_set = search.is_some();
    let mut unqualified = Vec::new();
    for s in search.unwrap_or_default() {
        unqualified.push(parse_location(&s).map_err(&invalid)?);
    }
    let mut entries: Vec<RegistryEntry> = Vec::new();
    for r in registries {
        let entry = entry(r, file).map_err(&invalid)?;
        check_conflicts(&entries, &entry).map_err(&invalid)?;
        // The first entry of a prefix wins; later ones of the same prefix are never used.
        if !entries.iter().any(|e| e.prefix == entry.prefix) {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    Ok(Parsed {
        conf: RegistriesConf {
            registries: entries,
            unqualified_search_registries: unqualified,
            files: vec![file.to_path_buf()],
            whole: false,
        },
        search_set,
    })
}

/// A TOML error on one line (`line L, column C: message`): toml's own rendering spans several
/// lines with the source quoted.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return message.to_string();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

fn v1_set(v1: &WireV1) -> bool {
    [&v1.search, &v1.insecure, &v1.block]
        .iter()
        .any(|l| l.as_ref().is_some_and(|l| !l.registries.is_empty()))
}

/// Version 1 lists as version 2 entries: one entry per location, blocked and insecure as listed.
fn convert_v1(v1: WireV1) -> (Vec<WireRegistry>, Option<Vec<String>>) {
    let mut out: Vec<WireRegistry> = Vec::new();
    let list = |l: Option<WireV1List>| l.map(|l| l.registries).unwrap_or_default();
    let mut mark = |location: String, blocked: bool| {
        let location = location.trim_end_matches('/').to_string();
        let i = match out
            .iter()
            .position(|r| r.location.as_deref() == Some(&location))
        {
            Some(i) => i,
            None => {
                out.push(WireRegistry {
                    prefix: None,
                    location: Some(location),
                    insecure: false,
                    blocked: false,
                    mirror_by_digest_only: false,
                    pull_from_mirror: None,
                    mirror: Vec::new(),
                });
                out.len() - 1
            }
        };
        if blocked {
            out[i].blocked = true;
        } else {
            out[i].insecure = true;
        }
    };
    for l in list(v1.block) {
        mark(l, true);
    }
    for l in list(v1.insecure) {
        mark(l, false);
    }
    let search = v1.search.map(|l| l.registries);
    (out, search)
}

/// A location or prefix without trailing slashes; URL schemes are refused.
fn parse_location(input: &str) -> Result<String, String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!(
            "location {input:?}: URL schemes are not supported (write host[:port][/path])"
        ));
    }
    Ok(trimmed.to_string())
}

fn entry(r: WireRegistry, file: &Path) -> Result<RegistryEntry, String> {
    let location = parse_location(r.location.as_deref().unwrap_or(""))?;
    let prefix = match r.prefix.as_deref().filter(|p| !p.is_empty()) {
        Some(prefix) => parse_location(prefix)?,
        None if location.is_empty() => {
            return Err("a [[registry]] has neither location nor prefix".to_string());
        }
        None => location.clone(),
    };
    if prefix.starts_with("*.") {
        if prefix.contains(['/', '@', ':']) {
            return Err(format!(
                "wildcard prefix {prefix:?} must be of the form *.example.com"
            ));
        }
    } else if location.is_empty() {
        return Err(format!(
            "[[registry]] prefix {prefix:?} has no location (only a *.example.com prefix may \
             leave it out)"
        ));
    }
    if r.pull_from_mirror.is_some() {
        return Err(format!(
            "pull-from-mirror is set on the registry {prefix:?} itself; it belongs to its \
             [[registry.mirror]] tables"
        ));
    }
    let mut mirrors = Vec::new();
    for m in r.mirror {
        let mirror_location = parse_location(m.location.as_deref().unwrap_or(""))?;
        if mirror_location.is_empty() {
            return Err(format!("a mirror of {prefix:?} has no location"));
        }
        if r.mirror_by_digest_only && m.pull_from_mirror.is_some() {
            return Err(format!(
                "{prefix:?} sets mirror-by-digest-only and its mirror {mirror_location:?} sets \
                 pull-from-mirror; set one of them"
            ));
        }
        let pull_from_mirror = match m.pull_from_mirror.as_deref() {
            None | Some("") | Some("all") => PullFromMirror::All,
            Some("digest-only") => PullFromMirror::DigestOnly,
            Some("tag-only") => PullFromMirror::TagOnly,
            Some(other) => {
                return Err(format!(
                    "mirror {mirror_location:?}: pull-from-mirror {other:?} is not one of \
                     all, digest-only, tag-only"
                ));
            }
        };
        mirrors.push(Mirror {
            location: mirror_location,
            insecure: m.insecure,
            pull_from_mirror,
        });
    }
    Ok(RegistryEntry {
        prefix,
        location,
        insecure: r.insecure,
        blocked: r.blocked,
        mirror_by_digest_only: r.mirror_by_digest_only,
        mirrors,
        file: file.to_path_buf(),
    })
}

/// Two entries for one location must agree on `insecure` and `blocked`.
fn check_conflicts(earlier: &[RegistryEntry], entry: &RegistryEntry) -> Result<(), String> {
    let key = |e: &RegistryEntry| {
        if e.location.is_empty() {
            e.prefix.clone()
        } else {
            e.location.clone()
        }
    };
    for other in earlier.iter().filter(|o| key(o) == key(entry)) {
        for (setting, a, b) in [
            ("insecure", other.insecure, entry.insecure),
            ("blocked", other.blocked, entry.blocked),
        ] {
            if a != b {
                return Err(format!(
                    "registry {:?} is defined more than once with conflicting {setting} settings",
                    key(entry)
                ));
            }
        }
    }
    Ok(())
}
