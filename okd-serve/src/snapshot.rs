//! Reading the served streams' state without the writer's lock, cached until a file changes.
//!
//! `stream run` replaces `gating.json` and `ledger.json` by writing a temporary file and
//! renaming it over the old one, so one `read` of the path returns one whole document, old or
//! new. The cache keys each file on its inode, size and modification time (every save is a new
//! inode, so two saves within one mtime tick are still told apart) and on the SHA-256 of the
//! bytes it read: a changed stamp with the same content does not rebuild anything.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use okd_gating::{StreamState, UpgradeGraph, UpgradeRecord};
use okd_release::graph::Node;
use okd_streams::stream::Ledger;
use sha2::{Digest as _, Sha256};

use crate::{ServeError, ServedStream, nodes};

/// One stream's state at one moment.
#[derive(Debug)]
pub struct StreamView {
    /// The stream.
    pub served: Arc<ServedStream>,
    /// Its gating state (releases, jobs, upgrade graph, publications).
    pub state: StreamState,
    /// Its ledger (what each release was built from).
    pub ledger: Ledger,
    /// Indices into `state.releases`, newest version first (the controller's tag order;
    /// names that are not versions last, by name).
    pub by_version: Vec<usize>,
}

fn version_order(state: &StreamState) -> Vec<usize> {
    let mut keyed: Vec<(Option<semver::Version>, &str, usize)> = state
        .releases
        .iter()
        .enumerate()
        .map(|(i, r)| (semver::Version::parse(&r.name).ok(), r.name.as_str(), i))
        .collect();
    keyed.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => y.cmp(x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(b.1),
    });
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

/// Every served stream's state at one moment, with the graph over all of them.
#[derive(Debug)]
pub struct Snapshot {
    /// The streams, in the order they were given.
    pub streams: Vec<StreamView>,
    /// Graph nodes: every release of every stream, then the upstream releases they were built
    /// from.
    pub nodes: Vec<Node>,
    /// The upgrade edges of every stream.
    pub graph: UpgradeGraph,
    /// Rendered answers by request key, valid for this snapshot only.
    rendered: Mutex<HashMap<String, bytes::Bytes>>,
    /// Report pages by stream (file name → HTML), valid for this snapshot only.
    pages: Mutex<HashMap<String, Arc<Pages>>>,
}

/// A stream's report pages: file name → HTML.
pub(crate) type Pages = std::collections::BTreeMap<String, String>;

impl Snapshot {
    fn new(streams: Vec<StreamView>) -> Snapshot {
        let nodes = nodes::graph_nodes(&streams);
        let records: Vec<UpgradeRecord> = streams
            .iter()
            .flat_map(|s| Vec::<UpgradeRecord>::from(s.state.graph.clone()))
            .collect();
        Snapshot {
            streams,
            nodes,
            graph: UpgradeGraph::from(records),
            rendered: Mutex::new(HashMap::new()),
            pages: Mutex::new(HashMap::new()),
        }
    }

    /// The stream called `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamView> {
        self.streams.iter().find(|s| s.served.name == name)
    }

    /// The report pages of `stream`, rendered once per snapshot.
    pub(crate) fn pages<E>(
        &self,
        stream: &str,
        render: impl FnOnce() -> Result<Pages, E>,
    ) -> Result<Arc<Pages>, E> {
        let hit = self
            .pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(stream)
            .cloned();
        if let Some(p) = hit {
            return Ok(p);
        }
        let pages = Arc::new(render()?);
        self.pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(stream.to_string(), pages.clone());
        Ok(pages)
    }

    /// The answer cached under `key`, or `render`'s, cached.
    pub(crate) fn rendered<E>(
        &self,
        key: &str,
        render: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<bytes::Bytes, E> {
        let hit = self
            .rendered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        if let Some(body) = hit {
            return Ok(body);
        }
        let body = bytes::Bytes::from(render()?);
        self.rendered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_string(), body.clone());
        Ok(body)
    }
}

type Stamp = (u64, u64, u64, i64, i64);

#[derive(Debug, Default, Clone)]
struct FileSeen {
    known: bool,
    stamp: Option<Stamp>,
    hash: [u8; 32],
}

#[derive(Debug, Default)]
struct Cache {
    seen: Vec<(FileSeen, FileSeen)>,
    parsed: Vec<Option<(StreamState, Ledger)>>,
    current: Option<Arc<Snapshot>>,
}

/// The served streams and the cache of their state.
#[derive(Debug)]
pub(crate) struct Snapshots {
    streams: Vec<Arc<ServedStream>>,
    cache: Mutex<Cache>,
    /// Diffs between releases, kept across snapshots (release images never change).
    pub(crate) changes: crate::changes::Changes,
}

impl Snapshots {
    pub(crate) fn new(streams: Vec<ServedStream>) -> Snapshots {
        Snapshots {
            streams: streams.into_iter().map(Arc::new).collect(),
            cache: Mutex::new(Cache::default()),
            changes: crate::changes::Changes::default(),
        }
    }

    pub(crate) fn served(&self) -> &[Arc<ServedStream>] {
        &self.streams
    }

    /// The current snapshot, re-read where a file changed. Blocking file I/O.
    pub(crate) fn load(&self) -> Result<Arc<Snapshot>, ServeError> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let n = self.streams.len();
        cache.seen.resize(n, Default::default());
        cache.parsed.resize(n, None);
        let mut changed = cache.current.is_none();
        for (i, s) in self.streams.iter().enumerate() {
            let (state_seen, ledger_seen) = &mut cache.seen[i];
            let state = refresh(&s.state_file(), state_seen)?;
            let ledger = refresh(&s.ledger_file(), ledger_seen)?;
            if state.is_none() && ledger.is_none() && cache.parsed[i].is_some() {
                continue;
            }
            changed = true;
            let old = cache.parsed[i].take();
            let state = match (state, &old) {
                (Some(bytes), _) => parse_state(s, &bytes)?,
                (None, Some((st, _))) => st.clone(),
                (None, None) => parse_state(s, &read(&s.state_file())?)?,
            };
            let ledger = match (ledger, &old) {
                (Some(bytes), _) => parse_ledger(&s.ledger_file(), &bytes)?,
                (None, Some((_, l))) => l.clone(),
                (None, None) => parse_ledger(&s.ledger_file(), &read(&s.ledger_file())?)?,
            };
            cache.parsed[i] = Some((state, ledger));
        }
        if let (false, Some(current)) = (changed, &cache.current) {
            return Ok(current.clone());
        }
        let views = self
            .streams
            .iter()
            .zip(&cache.parsed)
            .map(|(s, p)| {
                let (state, ledger) = p.clone().unwrap_or_default();
                StreamView {
                    served: s.clone(),
                    by_version: version_order(&state),
                    state,
                    ledger,
                }
            })
            .collect();
        let snapshot = Arc::new(Snapshot::new(views));
        cache.current = Some(snapshot.clone());
        Ok(snapshot)
    }
}

/// The file's bytes when its stamp and content changed since `seen`; `None` when unchanged.
fn refresh(path: &Path, seen: &mut FileSeen) -> Result<Option<Vec<u8>>, ServeError> {
    let stamp = match std::fs::metadata(path) {
        Ok(m) => Some((m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ServeError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if seen.known && stamp == seen.stamp {
        return Ok(None);
    }
    // The stamp is taken before the read: a save in between changes the next stamp, and the
    // file is read again then.
    let bytes = read(path)?;
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    let unchanged = seen.known && hash == seen.hash;
    seen.known = true;
    seen.stamp = stamp;
    seen.hash = hash;
    Ok((!unchanged).then_some(bytes))
}

fn read(path: &Path) -> Result<Vec<u8>, ServeError> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(ServeError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_state(stream: &ServedStream, bytes: &[u8]) -> Result<StreamState, ServeError> {
    if bytes.is_empty() {
        return Ok(StreamState::default());
    }
    let mut all = okd_gating::parse_state_file(&stream.state_file(), bytes).map_err(Box::new)?;
    Ok(all.streams.remove(&stream.name).unwrap_or_default())
}

fn parse_ledger(path: &Path, bytes: &[u8]) -> Result<Ledger, ServeError> {
    if bytes.is_empty() {
        return Ok(Ledger::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ServeError::Ledger {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
