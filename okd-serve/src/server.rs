//! The HTTP server: routes, the access log, limits, graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use okd_gating::Phase;

use crate::api::{self, ApiAnswer};
use crate::graph::{self, GraphAnswer};
use crate::snapshot::{Snapshot, Snapshots};
use crate::{ServeError, ServedStream, pages, signatures};

/// Longest request target (path and query) answered; longer ones get 414.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Serves one or several streams. See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Server {
    snapshots: Arc<Snapshots>,
}

type App = Arc<Snapshots>;
type Params = Query<Vec<(String, String)>>;

impl Server {
    /// A server for `streams`; two streams with one name are an error.
    pub fn new(streams: Vec<ServedStream>) -> Result<Server, ServeError> {
        let mut names = std::collections::BTreeSet::new();
        for s in &streams {
            if !names.insert(s.name.clone()) {
                return Err(ServeError::DuplicateStream {
                    name: s.name.clone(),
                    file: s.state_dir.clone(),
                });
            }
        }
        Ok(Server {
            snapshots: Arc::new(Snapshots::new(streams)),
        })
    }

    /// A server for the stream files `files`.
    pub fn from_files(files: &[PathBuf]) -> Result<Server, ServeError> {
        let streams = files
            .iter()
            .map(|f| ServedStream::from_file(f))
            .collect::<Result<Vec<_>, _>>()?;
        Server::new(streams)
    }

    /// The served streams.
    pub fn streams(&self) -> impl Iterator<Item = &ServedStream> {
        self.snapshots.served().iter().map(|s| s.as_ref())
    }

    /// The current state of every served stream (read from the state files when they changed).
    /// Blocking file I/O.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, ServeError> {
        self.snapshots.load()
    }

    /// The routes, to mount in an application's own router or serve with [`Server::serve`].
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(root))
            .route("/graph", get(graph_route))
            .route("/api/v1/releasestream/{stream}/latest", get(latest))
            .route("/api/v1/releasestream/{stream}/tags", get(tags))
            .route("/api/v1/releasestream/{stream}/release/{tag}", get(release))
            .route("/api/v1/releasestreams/{which}", get(streams))
            .route("/releasestream/{stream}/", get(index_page))
            .route("/releasestream/{stream}/{page}", get(page))
            .route("/signatures/{digest}/{name}", get(signature))
            .fallback(not_found)
            .layer(middleware::from_fn(access_log))
            .with_state(self.snapshots.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Listen)
    }
}

/// Logs every request (method, target, status, time) and refuses overlong targets.
async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let response = if target.len() > MAX_URI_LEN {
        (StatusCode::URI_TOO_LONG, "request target too long\n").into_response()
    } else {
        next.run(req).await
    };
    let shown: String = target.chars().take(200).collect();
    tracing::info!(
        %method,
        target = %shown,
        status = response.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
    response
}

async fn load(app: &App) -> Result<Arc<Snapshot>, Response> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || app.load()).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot read the stream state");
            Err(answer(ApiAnswer::error(500, &e.to_string())))
        }
        Err(e) => Err(answer(ApiAnswer::error(500, &e.to_string()))),
    }
}

fn answer(a: ApiAnswer) -> Response {
    body(
        StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        a.content_type,
        a.body,
    )
}

fn body(status: StatusCode, content_type: &'static str, bytes: impl Into<Body>) -> Response {
    let mut r = Response::new(bytes.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn map(params: &[(String, String)]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for (k, v) in params {
        // The first value wins, as Go's url.Values.Get.
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    m
}

async fn root(State(app): State<App>) -> Response {
    match load(&app).await {
        Ok(s) => body(
            StatusCode::OK,
            "text/html; charset=utf-8",
            pages::root(&s).into_bytes(),
        ),
        Err(r) => r,
    }
}

async fn graph_route(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    Query(q): Params,
) -> Response {
    let s = match load(&app).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    match graph::answer_encoded(&s, &map(&q), gzip) {
        GraphAnswer::Ok(ct, b) => body(StatusCode::OK, ct, b),
        GraphAnswer::Gzip(ct, b) => {
            let mut r = body(StatusCode::OK, ct, b);
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            r
        }
        GraphAnswer::BadRequest(m) => body(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            format!("{m}\n").into_bytes(),
        ),
    }
}

async fn latest(State(app): State<App>, Path(stream): Path<String>, Query(q): Params) -> Response {
    match load(&app).await {
        Ok(s) => answer(api::latest(&s, &stream, &map(&q))),
        Err(r) => r,
    }
}

async fn tags(State(app): State<App>, Path(stream): Path<String>, Query(q): Params) -> Response {
    let phases: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "phase")
        .map(|(_, v)| v.clone())
        .collect();
    let format = map(&q).get("format").cloned().unwrap_or_default();
    match load(&app).await {
        Ok(s) => answer(api::tags(&s, &stream, &phases, &format)),
        Err(r) => r,
    }
}

async fn release(State(app): State<App>, Path((stream, tag)): Path<(String, String)>) -> Response {
    let s = match load(&app).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let diff = match s.stream(&stream) {
        Some(view) => app.changes.of_release(view, &tag).await,
        None => None,
    };
    answer(api::release(&s, &stream, &tag, diff.as_deref()))
}

async fn streams(State(app): State<App>, Path(which): Path<String>) -> Response {
    let phase = match which.as_str() {
        "accepted" => Some(Phase::Accepted),
        "rejected" => Some(Phase::Rejected),
        "all" => None,
        _ => return not_found().await,
    };
    match load(&app).await {
        Ok(s) => answer(api::streams(&s, phase)),
        Err(r) => r,
    }
}

async fn index_page(state: State<App>, Path(stream): Path<String>) -> Response {
    serve_page(state, stream, "index.html".to_string()).await
}

async fn page(state: State<App>, Path((stream, page)): Path<(String, String)>) -> Response {
    serve_page(state, stream, page).await
}

async fn serve_page(State(app): State<App>, stream: String, file: String) -> Response {
    let s = match load(&app).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let diffs = match s.stream(&stream) {
        Some(view) => app.changes.of_stream(view).await,
        None => pages::Diffs::new(),
    };
    match pages::page(&s, &stream, &file, &diffs) {
        Ok(Some(html)) => body(
            StatusCode::OK,
            "text/html; charset=utf-8",
            html.into_bytes(),
        ),
        Ok(None) => not_found().await,
        Err(e) => answer(ApiAnswer::error(500, &e.to_string())),
    }
}

async fn signature(
    State(app): State<App>,
    Path((digest, name)): Path<(String, String)>,
) -> Response {
    let candidates: Vec<PathBuf> = app
        .served()
        .iter()
        .filter_map(|s| signatures::file(s, &digest, &name))
        .collect();
    let found =
        tokio::task::spawn_blocking(move || candidates.iter().find_map(|p| std::fs::read(p).ok()))
            .await;
    match found {
        Ok(Some(bytes)) => body(StatusCode::OK, "application/octet-stream", bytes),
        _ => not_found().await,
    }
}

async fn not_found() -> Response {
    answer(ApiAnswer::error(404, "not found"))
}
