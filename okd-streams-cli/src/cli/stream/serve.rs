//! `okd-streams stream serve` and `stream graph`: the release-controller's graph, API and
//! pages over HTTP, or the graph written to a file for static hosting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use okd_serve::Server;
use okd_serve::graph::GraphAnswer;

use crate::cli::CliError;

/// `stream serve FILE... --listen ADDR:PORT`: serves until SIGINT or SIGTERM.
pub async fn serve(files: &[PathBuf], listen: SocketAddr) -> Result<(), CliError> {
    let server = Server::from_files(files)?;
    // Read the state once before listening: a stream whose state does not parse is an error
    // at start, not a 500 later.
    let check = server.clone();
    tokio::task::spawn_blocking(move || check.snapshot()).await??;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("serving on http://{local}");
    server.serve(listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM; stop with SIGINT");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// `stream graph FILE --channel C -o json|dot`: the `/graph` document on stdout.
pub async fn graph(file: &Path, channel: &str, output: &str) -> Result<(), CliError> {
    let server = Server::from_files(&[file.to_path_buf()])?;
    let snapshot = tokio::task::spawn_blocking(move || server.snapshot()).await??;
    let format = match output {
        "json" => "cincinnati",
        "dot" => "dot",
        other => return Err(format!("-o {other:?}: expected json or dot").into()),
    };
    let query = [
        ("channel".to_string(), channel.to_string()),
        ("format".to_string(), format.to_string()),
    ]
    .into_iter()
    .collect();
    // `answer` never compresses.
    match okd_serve::graph::answer(&snapshot, &query) {
        GraphAnswer::Ok(_, body) | GraphAnswer::Gzip(_, body) => {
            print!("{}", String::from_utf8_lossy(&body));
            if output == "json" {
                println!();
            }
            Ok(())
        }
        GraphAnswer::BadRequest(message) => Err(format!("--channel {channel:?}: {message}").into()),
    }
}
