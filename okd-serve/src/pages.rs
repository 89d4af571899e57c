//! The report pages served live: the same HTML as `okd-streams stream report`, rendered from
//! the current state, with links into the API and the graph.
//!
//! Pages are looked up by name among the pages the report renders, never by path on disk: a
//! name that is not one of them (`../gating.json`, `%2e%2e`) is a 404. Release pages carry
//! the diff against the release built before it ([`Diffs`], computed by the server).

use std::fmt::Write as _;

use crate::snapshot::{Pages, Snapshot, StreamView};

/// Each built release's diff against the one built before it, by release name.
pub type Diffs = std::collections::BTreeMap<String, std::sync::Arc<okd_release::ReleaseDiff>>;

fn render(view: &StreamView, diffs: &Diffs) -> Result<Pages, okd_report::Error> {
    let mut model =
        okd_report::ReportModel::from_stream(&view.served.name, &view.state, &view.served.policy);
    model.generated = Some(chrono::Utc::now());
    for r in &view.state.releases {
        if let Some(c) = view.ledger.candidates.get(&r.name) {
            let diff = diffs.get(&r.name).map(|d| d.as_ref());
            model.record_build(&r.name, &c.digest.to_string(), diff);
        }
    }
    let nav = nav(&view.served.name);
    Ok(okd_report::render(&model)?
        .into_iter()
        .map(|(file, html)| (file, with_nav(&html, &nav)))
        .collect())
}

fn nav(stream: &str) -> String {
    format!(
        "<nav class=\"okd-serve\"><a href=\"/\">streams</a> · \
         <a href=\"/api/v1/releasestream/{stream}/tags\">API: tags</a> · \
         <a href=\"/api/v1/releasestream/{stream}/latest\">API: latest</a> · \
         <a href=\"/graph\">graph</a> · <a href=\"/graph?format=dot\">graph (DOT)</a></nav>"
    )
}

fn with_nav(html: &str, nav: &str) -> String {
    match html
        .find("<body")
        .and_then(|i| html[i..].find('>').map(|j| i + j + 1))
    {
        Some(at) => format!("{}{nav}{}", &html[..at], &html[at..]),
        None => html.to_string(),
    }
}

/// The page `file` (`index.html`, `release-….html`) of `stream`, or `None`.
pub fn page(
    snapshot: &Snapshot,
    stream: &str,
    file: &str,
    diffs: &Diffs,
) -> Result<Option<String>, okd_report::Error> {
    let Some(view) = snapshot.stream(stream) else {
        return Ok(None);
    };
    let pages = snapshot.pages(stream, || render(view, diffs))?;
    Ok(pages.get(file).cloned())
}

/// The root page: the list of served streams, each linked to its report.
pub fn root(snapshot: &Snapshot) -> String {
    let mut items = String::new();
    for s in &snapshot.streams {
        let name = html_escape(&s.served.name);
        let _ = write!(
            items,
            "<li><a href=\"/releasestream/{name}/\">{name}</a> — {} releases</li>",
            s.state.releases.len()
        );
    }
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>okd-streams</title></head>\
         <body><h1>Streams</h1><ul>{items}</ul>\
         <p><a href=\"/graph\">graph</a> · <a href=\"/api/v1/releasestreams/all\">API: all streams</a></p>\
         </body></html>"
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
