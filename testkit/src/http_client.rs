//! A plain HTTP/1.1 client over one TCP connection per request, and a Cincinnati client that
//! reads `/graph` the way the cluster-version-operator does: tests of servers see exactly the
//! bytes on the wire.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One answer.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// The first header called `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET target` with `headers`, `Connection: close`; the body is read to the end.
pub fn get(
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpAnswer> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<HttpAnswer> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("bad chunked body"))?
    } else {
        rest.to_vec()
    };
    if let Some((_, len)) = headers.iter().find(|(n, _)| n == "content-length")
        && len.parse::<usize>().ok() != Some(body.len())
    {
        return Err(bad("body shorter or longer than its content-length"));
    }
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// A release a cluster may update to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Its version.
    pub version: String,
    /// Its payload pullspec.
    pub payload: String,
}

/// What the CVO's Cincinnati client does: `GET /graph?arch=…&channel=…&id=…&version=…` with
/// `Accept: application/json`, a 200 required, the body parsed as `{nodes, edges}` (every
/// version a semver, every edge two indices into `nodes`), the node whose version equals the
/// cluster's found (`VersionNotFound` otherwise), and the targets of its edges returned.
pub fn cincinnati_updates(
    addr: SocketAddr,
    arch: &str,
    channel: &str,
    id: &str,
    version: &str,
) -> Result<Vec<Update>, String> {
    let target = format!("/graph?arch={arch}&channel={channel}&id={id}&version={version}");
    let answer = get(addr, &target, &[("Accept", "application/json")])
        .map_err(|e| format!("RemoteFailed: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "ResponseFailed: {} {}",
            answer.status,
            answer.text()
        ));
    }
    let graph: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("ResponseInvalid: {e}"))?;
    let nodes = graph["nodes"]
        .as_array()
        .ok_or("ResponseInvalid: no nodes")?;
    let mut versions = Vec::with_capacity(nodes.len());
    for n in nodes {
        let v = n["version"]
            .as_str()
            .ok_or("ResponseInvalid: node without version")?;
        let parsed = semver::Version::parse(v).map_err(|e| format!("ResponseInvalid: {v}: {e}"))?;
        let payload = n["payload"]
            .as_str()
            .ok_or("ResponseInvalid: node without payload")?;
        versions.push((parsed, payload.to_string()));
    }
    let current =
        semver::Version::parse(version).map_err(|e| format!("InvalidCurrentVersion: {e}"))?;
    let at = versions
        .iter()
        .position(|(v, _)| *v == current)
        .ok_or_else(|| format!("VersionNotFound: currently reconciling cluster version {version} not found in the {channel:?} channel"))?;
    let edges = graph["edges"]
        .as_array()
        .ok_or("ResponseInvalid: no edges")?;
    let mut updates = Vec::new();
    for e in edges {
        let pair = e
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or("ResponseInvalid: edge is not a pair")?;
        let from = pair[0].as_u64().ok_or("ResponseInvalid: edge index")? as usize;
        let to = pair[1].as_u64().ok_or("ResponseInvalid: edge index")? as usize;
        if from >= versions.len() || to >= versions.len() {
            return Err("ResponseInvalid: edge index out of range".to_string());
        }
        if from == at {
            updates.push(Update {
                version: versions[to].0.to_string(),
                payload: versions[to].1.clone(),
            });
        }
    }
    Ok(updates)
}
