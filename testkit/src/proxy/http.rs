//! HTTP-level faults of the [`FaultProxy`](super::FaultProxy): the proxy reads each request's
//! head, counts it, and may answer or cut it the way a proxy or a registry in a real network
//! does:
//!
//! * **body limit** ([`FaultConfig::max_body`](super::FaultConfig::max_body)): a request whose
//!   `Content-Length` is over the limit is answered `413 Payload Too Large` (a reverse proxy's
//!   `client_max_body_size`); it applies to every request, and spends no fault budget. The
//!   body is read to its end after the answer (a lingering close), unless
//!   [`max_body_abrupt`](super::FaultConfig::max_body_abrupt) closes with it unread;
//! * **refusal** ([`FaultConfig::refuse_requests`](super::FaultConfig::refuse_requests)): a
//!   request is answered with a status and a registry error body;
//! * **throttling** ([`FaultConfig::too_many_requests`](super::FaultConfig::too_many_requests)):
//!   a request is answered `429 Too Many Requests` with `Retry-After: <seconds>`;
//! * **cut download** ([`FaultConfig::cut_at_fraction`](super::FaultConfig::cut_at_fraction)):
//!   the response to a blob `GET` without `Range` is closed after that share of its body;
//! * **no range support** ([`FaultConfig::ignore_range`](super::FaultConfig::ignore_range)):
//!   `Range` headers are removed, so the upstream answers `200` with the whole body.
//!
//! Refusals, throttling and cuts go to requests whose request line starts with
//! [`matching`](super::FaultConfig::matching) (all when unset) and spend the
//! [`max_faults`](super::FaultConfig::max_faults) budget. In this mode every request gets a
//! connection of its own (the proxy adds `Connection: close`), so each is seen and counted; the
//! connection faults (reject, drop, stall, corrupt) are not applied. A connection whose first
//! bytes are not an HTTP request (a TLS probe) is relayed untouched.

use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::Shared;

/// Longest request or response head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

/// What the proxy saw and did at the HTTP level (kept only when an HTTP fault is configured).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// Requests seen, by method (`"GET"`, `"PATCH"`, …).
    pub requests: BTreeMap<String, u64>,
    /// Requests that carried a `Range` header.
    pub range_requests: u64,
    /// Body bytes of `GET …/blobs/…` responses relayed to clients, cut ones included.
    pub blob_bytes_served: u64,
    /// Requests answered `413` for their body size.
    pub too_large: u64,
    /// Requests answered `429`.
    pub throttled: u64,
    /// Requests refused with the configured status.
    pub refused: u64,
    /// Blob downloads cut part-way.
    pub cut: u64,
}

impl HttpStats {
    /// Requests seen with `method`.
    pub fn count(&self, method: &str) -> u64 {
        self.requests.get(method).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
pub(super) struct HttpCounters {
    requests: Mutex<BTreeMap<String, u64>>,
    range_requests: AtomicU64,
    blob_bytes_served: AtomicU64,
    too_large: AtomicU64,
    throttled: AtomicU64,
    refused: AtomicU64,
    cut: AtomicU64,
}

impl HttpCounters {
    pub(super) fn snapshot(&self) -> HttpStats {
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        HttpStats {
            requests: self
                .requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            range_requests: get(&self.range_requests),
            blob_bytes_served: get(&self.blob_bytes_served),
            too_large: get(&self.too_large),
            throttled: get(&self.throttled),
            refused: get(&self.refused),
            cut: get(&self.cut),
        }
    }

    fn seen(&self, method: &str) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(method.to_string()).or_default() += 1;
    }
}

/// The parts of a request head the faults look at.
struct Head {
    /// Everything up to and including the blank line.
    raw: Vec<u8>,
    /// Bytes read after the head (the start of a body).
    rest: Vec<u8>,
    request_line: String,
    method: String,
    target: String,
    content_length: Option<u64>,
    has_range: bool,
}

/// Reads one head; `None` when the bytes are not HTTP or no blank line came in time. `seen`
/// keeps what was read either way.
async fn read_head(stream: &mut OwnedReadHalf, seen: &mut Vec<u8>) -> Option<Head> {
    let mut buf = [0u8; 8192];
    let end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        // A request line starts with a method in capitals; a TLS record (0x16) does not, and is
        // relayed at once instead of waiting for a blank line that never comes.
        if seen.len() > MAX_HEAD || seen.first().is_some_and(|b| !b.is_ascii_uppercase()) {
            return None;
        }
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    };
    let text = std::str::from_utf8(&seen[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?.to_string();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let (mut content_length, mut has_range) = (None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => content_length = value.trim().parse().ok(),
            "range" => has_range = true,
            _ => {}
        }
    }
    Some(Head {
        raw: seen[..end].to_vec(),
        rest: seen[end..].to_vec(),
        request_line,
        method,
        target,
        content_length,
        has_range,
    })
}

/// The head with `Connection: close` in place of any connection header, so that the upstream
/// closes after one answer and the next request comes on a connection of its own; without
/// `Range` when `drop_range`.
fn closing(raw: &[u8], drop_range: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    for line in text.trim_end_matches("\r\n").split("\r\n") {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let dropped =
            name == "connection" || name == "keep-alive" || (drop_range && name == "range");
        if !dropped {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// Serves one connection with HTTP-level faults.
pub(super) async fn serve(client: TcpStream, shared: &Shared) -> io::Result<()> {
    let _ = client.set_nodelay(true);
    let (mut client_r, client_w) = client.into_split();
    let mut seen = Vec::new();
    let Some(head) = read_head(&mut client_r, &mut seen).await else {
        // Not HTTP: relay as it is.
        return relay_raw(client_r, client_w, seen, shared).await;
    };
    let c = &shared.counters.http;
    let config = &shared.config;
    c.seen(&head.method);
    if head.has_range {
        c.range_requests.fetch_add(1, Ordering::SeqCst);
    }
    if let (Some(limit), Some(length)) = (config.max_body, head.content_length)
        && length > limit
    {
        c.too_large.fetch_add(1, Ordering::SeqCst);
        let body = format!(
            "<html><body><h1>413 Request Entity Too Large</h1>{length} bytes over {limit} (injected)</body></html>"
        );
        if config.max_body_abrupt {
            return answer_abruptly(client_r, client_w, 413, "Payload Too Large", &body).await;
        }
        return answer(client_r, client_w, 413, "Payload Too Large", &[], &body).await;
    }
    let selected = config
        .matching
        .as_ref()
        .is_none_or(|p| head.request_line.starts_with(p.as_str()));
    if let Some(wait) = config.too_many_requests
        && selected
        && shared.spend()
    {
        c.throttled.fetch_add(1, Ordering::SeqCst);
        let retry_after = format!("Retry-After: {}", wait.as_secs());
        let body =
            "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"slow down (injected)\"}]}";
        return answer(
            client_r,
            client_w,
            429,
            "Too Many Requests",
            &[&retry_after],
            body,
        )
        .await;
    }
    if let Some(status) = config.refuse_status
        && selected
        && shared.spend()
    {
        c.refused.fetch_add(1, Ordering::SeqCst);
        let body = "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"refused (injected)\"}]}";
        return answer(client_r, client_w, status, "Refused", &[], body).await;
    }
    let blob_get = head.method == "GET" && head.target.contains("/blobs/");
    let cut = match config.cut_fraction {
        Some(f) if blob_get && !head.has_range && selected && shared.spend() => Some(f),
        _ => None,
    };
    let upstream = TcpStream::connect(shared.upstream).await?;
    let _ = upstream.set_nodelay(true);
    let (up_r, mut up_w) = upstream.into_split();
    up_w.write_all(&closing(&head.raw, config.ignore_range))
        .await?;
    up_w.write_all(&head.rest).await?;
    let up = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = client_r.read(&mut buf).await?;
            if n == 0 {
                let _ = up_w.shutdown().await;
                return Ok::<(), io::Error>(());
            }
            up_w.write_all(&buf[..n]).await?;
        }
    };
    let down = respond(up_r, client_w, blob_get, cut, shared);
    tokio::pin!(up);
    tokio::pin!(down);
    // The answer decides: once it is relayed (or cut) the connection ends.
    tokio::select! {
        r = &mut down => r,
        _ = &mut up => down.await,
    }
}

/// Relays the upstream's answer: counts blob body bytes, and cuts the body at `cut` of its
/// `Content-Length`.
async fn respond(
    mut up_r: OwnedReadHalf,
    mut client_w: OwnedWriteHalf,
    blob_get: bool,
    cut: Option<f64>,
    shared: &Shared,
) -> io::Result<()> {
    let c = &shared.counters.http;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let (head_len, length) = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..i]).to_ascii_lowercase();
            let length = head
                .split("\r\n")
                .filter_map(|l| l.strip_prefix("content-length:"))
                .find_map(|v| v.trim().parse::<u64>().ok());
            break (i + 4, length);
        }
        let n = up_r.read(&mut buf).await?;
        if n == 0 || seen.len() > MAX_HEAD {
            client_w.write_all(&seen).await?;
            return client_w.shutdown().await;
        }
        seen.extend_from_slice(&buf[..n]);
    };
    let limit = match (cut, length) {
        (Some(f), Some(len)) => Some((len as f64 * f) as u64),
        _ => None,
    };
    client_w.write_all(&seen[..head_len]).await?;
    let mut pending = seen.split_off(head_len);
    let mut sent = 0u64;
    loop {
        let mut chunk: &[u8] = &pending;
        if let Some(limit) = limit {
            chunk = &chunk[..chunk.len().min(limit.saturating_sub(sent) as usize)];
        }
        client_w.write_all(chunk).await?;
        sent += chunk.len() as u64;
        if blob_get {
            c.blob_bytes_served
                .fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        if limit.is_some_and(|l| sent >= l) {
            c.cut.fetch_add(1, Ordering::SeqCst);
            // Closed without the rest of the body: the client sees the connection drop.
            return Ok(());
        }
        let n = up_r.read(&mut buf).await?;
        if n == 0 {
            return client_w.shutdown().await;
        }
        pending = buf[..n].to_vec();
    }
}

/// Answers `status` with `body` and closes, after reading what the client still sends (a
/// request body) so that the close is a clean FIN the client reads the answer before, not a
/// reset.
async fn answer(
    mut client_r: OwnedReadHalf,
    mut client_w: OwnedWriteHalf,
    status: u16,
    reason: &str,
    headers: &[&str],
    body: &str,
) -> io::Result<()> {
    let mut extra = String::new();
    for h in headers {
        extra.push_str(h);
        extra.push_str("\r\n");
    }
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client_w.write_all(response.as_bytes()).await?;
    let _ = client_w.shutdown().await;
    let mut buf = vec![0u8; 64 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while matches!(client_r.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
    Ok(())
}

/// Answers and closes at once, with whatever the client sent after the head unread: closing a
/// socket with unread data makes the kernel send a reset.
async fn answer_abruptly(
    client_r: OwnedReadHalf,
    mut client_w: OwnedWriteHalf,
    status: u16,
    reason: &str,
    body: &str,
) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client_w.write_all(response.as_bytes()).await?;
    drop(client_r);
    drop(client_w);
    Ok(())
}

/// Relays a connection that is not HTTP, starting with the bytes already read.
async fn relay_raw(
    mut client_r: OwnedReadHalf,
    mut client_w: OwnedWriteHalf,
    seen: Vec<u8>,
    shared: &Shared,
) -> io::Result<()> {
    let upstream = TcpStream::connect(shared.upstream).await?;
    let (mut up_r, mut up_w) = upstream.into_split();
    up_w.write_all(&seen).await?;
    let up = tokio::io::copy(&mut client_r, &mut up_w);
    let down = tokio::io::copy(&mut up_r, &mut client_w);
    let _ = tokio::join!(up, down);
    Ok(())
}
