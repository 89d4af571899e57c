//! The pages: the stream's index (phase counts, the upgrade graph, every release with its jobs,
//! upgrades and changes) and one page per release (facts, jobs with every attempt and log,
//! upgrades, and what changed since the release before). Every text from the model goes
//! through maud's escaping; links only ever use http, https or file URLs, or relative paths.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::model::{
    Attempt, AttemptState, DiffSummary, Gate, ImageChange, ImageOnlyIn, JobEntry, JobResult, Phase,
    ReleaseEntry, ReportModel,
};
use super::svg::{self, phase_label};

const CSS: &str = include_str!("style.css");

/// Page file names by release name.
pub(crate) type Pages<'a> = BTreeMap<&'a str, String>;

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
}

fn phase_class(p: Phase) -> String {
    format!("badge phase-{}", phase_label(p).to_ascii_lowercase())
}

fn badge(p: Phase) -> Markup {
    html! { span class=(phase_class(p)) { (phase_label(p)) } }
}

fn time(t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) } }
}

fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0);
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

/// A link target for text from outside: http(s) and file URLs, absolute paths (as file URLs)
/// and relative paths; anything else (`javascript:`, `data:` …) is no link.
pub(crate) fn safe_href(target: &str) -> Option<String> {
    let target = target.trim();
    if target.is_empty() {
        return None;
    }
    if target.starts_with("//") {
        // Scheme-relative: another host.
        return None;
    }
    match url::Url::parse(target) {
        Ok(u) => matches!(u.scheme(), "http" | "https" | "file").then(|| u.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) if target.starts_with('/') => {
            url::Url::from_file_path(target).ok().map(|u| u.to_string())
        }
        Err(url::ParseError::RelativeUrlWithoutBase) => Some(target.to_string()),
        Err(_) => None,
    }
}

fn result_class(r: JobResult) -> &'static str {
    match r {
        JobResult::NotStarted => "result-not-started",
        JobResult::Pending => "result-pending",
        JobResult::Succeeded => "result-succeeded",
        JobResult::Failed => "result-failed",
        JobResult::NotRunNoUpgradeSource | JobResult::NotRunNoRunner | JobResult::Skipped => {
            "result-not-started"
        }
    }
}

fn result_icon(r: JobResult) -> &'static str {
    match r {
        JobResult::NotStarted => "○",
        JobResult::Pending => "…",
        JobResult::Succeeded => "✓",
        JobResult::Failed => "✗",
        JobResult::NotRunNoUpgradeSource | JobResult::NotRunNoRunner => "○",
        JobResult::Skipped => "–",
    }
}

fn gate_label(g: Gate) -> &'static str {
    match g {
        Gate::Blocking => "blocking",
        Gate::Informing => "informing",
        Gate::Disabled => "disabled",
    }
}

fn attempts_text(n: usize) -> String {
    if n == 1 {
        "1 attempt".to_string()
    } else {
        format!("{n} attempts")
    }
}

/// A job on the index: blocking jobs with their result spelled out, informing ones compact
/// (icon and colour; the result is in the tooltip).
fn job_chip(job: &JobEntry) -> Markup {
    let title = format!(
        "{} job {}: {}, {}",
        gate_label(job.gate),
        job.name,
        job.result.label(),
        attempts_text(job.attempts.len())
    );
    html! {
        span class=(format!("job {} {}", result_class(job.result), gate_label(job.gate))) title=(title) {
            @if job.gate == Gate::Blocking {
                (job.name) " "
                span.state { (result_icon(job.result)) " " (job.result.label()) }
            } @else {
                span.state { (result_icon(job.result)) } " " (job.name)
            }
            @if job.attempts.len() > 1 { span.muted { "×" (job.attempts.len()) } }
        }
    }
}

fn counts(e_success: u32, e_failure: u32) -> Markup {
    html! { span.ok { "✓" (e_success) } " " span.bad { "✗" (e_failure) } }
}

fn release_link(pages: &Pages<'_>, name: &str) -> Markup {
    match pages.get(name) {
        Some(file) => html! { a.mono href=(file) { (name) } },
        None => html! { span.mono { (name) } },
    }
}

/// The non-zero counts of a diff, for the index.
fn diff_brief(d: &DiffSummary) -> String {
    let parts: Vec<String> = [
        (d.changed.len(), "changed"),
        (d.rebuilt.len(), "rebuilt"),
        (d.added.len(), "added"),
        (d.removed.len(), "removed"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "no image changes".to_string()
    } else {
        parts.join(" · ")
    }
}

fn diff_counts(d: &DiffSummary) -> String {
    format!(
        "{} changed · {} rebuilt · {} added · {} removed",
        d.changed.len(),
        d.rebuilt.len(),
        d.added.len(),
        d.removed.len()
    )
}

/// The index page.
pub(crate) fn index(model: &ReportModel, pages: &Pages<'_>) -> Markup {
    let nodes = svg::nodes(model, |name| pages.get(name).cloned());
    let phases = [
        Phase::Accepted,
        Phase::Rejected,
        Phase::Failed,
        Phase::Ready,
        Phase::Pending,
    ];
    let body = html! {
        header.top {
            h1 { "Release stream " span.mono { (model.stream) } }
            div.sub {
                (model.releases.len()) " releases"
                @if let Some(t) = model.generated { " · generated " (time(t)) }
            }
            div.summary {
                @for p in phases {
                    @let n = model.count(p);
                    @if n > 0 { span class=(phase_class(p)) { (n) " " (phase_label(p)) } }
                }
            }
        }
        section.card #graph {
            h2 { "Upgrade graph" }
            @if nodes.is_empty() {
                p.muted { "No releases yet." }
            } @else {
                div.graph-wrap { (svg::graph(&nodes, &model.edges)) }
                div.legend {
                    span { span.sw style="border-color:#2e7d32" {} "upgrades succeeded" }
                    span { span.sw style="border-color:#ef6c00" {} "some failed" }
                    span { span.sw style="border-color:#c62828;border-top-style:dashed" {} "all failed" }
                    span { "✓ successes ✗ failures per edge" }
                }
                @if model.edges.is_empty() { p.muted { "No upgrade results yet." } }
            }
        }
        section.card #releases {
            h2 { "Releases" }
            p.muted {
                "Blocking jobs show their result; informing jobs (dashed) show ✓ passed, ✗ failed, "
                "… running or retrying, ○ not started. ×N counts attempts."
            }
            @if model.releases.is_empty() {
                p.muted { "No releases yet." }
            } @else {
                table.releases {
                    thead { tr { th { "Name" } th { "Phase" } th { "Created" } th { "Jobs" } th { "Upgrades from" } th { "Changes" } } }
                    tbody {
                        @for r in model.newest_first() {
                            (release_row(model, r, pages))
                        }
                    }
                }
            }
        }
        footer { "okd-streams stream report" }
    };
    page(&format!("{} — okd-streams", model.stream), body)
}

fn release_row(model: &ReportModel, r: &ReleaseEntry, pages: &Pages<'_>) -> Markup {
    let file = pages.get(r.name.as_str()).cloned().unwrap_or_default();
    let into: Vec<_> = model.edges.iter().filter(|e| e.to == r.name).collect();
    html! {
        tr.release data-release=(r.name) {
            td.name {
                a.mono href=(file) { (r.name) }
                div.pullspec title=(r.pullspec) { (r.pullspec) }
            }
            td {
                (badge(r.phase))
                @if r.signed { " " span.badge.signed title="signed by the stream's key" { "signed" } }
                @if let Some(reason) = &r.reason { div.muted { (reason) } }
            }
            td.created { (time(r.created)) }
            td.jobs-cell {
                @if r.jobs.is_empty() { span.muted { "no jobs" } }
                div.jobs {
                    @for j in r.jobs.iter().filter(|j| j.gate == Gate::Blocking) { (job_chip(j)) }
                    @for j in r.jobs.iter().filter(|j| j.gate != Gate::Blocking) { (job_chip(j)) }
                }
            }
            td {
                @if into.is_empty() { span.muted { "—" } }
                ul.edges {
                    @for e in &into {
                        li { (release_link(pages, &e.from)) " " (counts(e.success, e.failure)) }
                    }
                }
            }
            td.changes {
                @if let Some(d) = &r.diff {
                    a href=(format!("{file}#changes")) { (diff_brief(d)) }
                    div.since { "since " span.mono { (d.from.name) } }
                } @else {
                    span.muted { "—" }
                }
            }
        }
    }
}

fn attempt_line(a: &Attempt) -> Markup {
    let (class, label) = match a.state {
        AttemptState::Pending => ("result-pending", "Pending"),
        AttemptState::Succeeded => ("result-succeeded", "Succeeded"),
        AttemptState::Failed => ("result-failed", "Failed"),
        AttemptState::Skipped => ("result-not-started", "Skipped"),
    };
    html! {
        li.attempt {
            span class=(format!("job {class}")) { (label) } " "
            span.mono { (a.name) }
            @if a.skipped { span.muted { " (no release to upgrade from: never run, not a pass)" } }
            @if let (Some(s), Some(f)) = (a.started, a.finished) { span.muted { " · " (duration(s, f)) } }
            @else if let Some(s) = a.started { span.muted { " · started " (time(s)) } }
            @if let Some(log) = &a.log {
                " · "
                @if let Some(href) = safe_href(log) { a.log href=(href) { "log" } }
                @else { span.mono.muted { (log) } }
            }
        }
    }
}

fn jobs_table(title: &str, jobs: &[&JobEntry], pages: &Pages<'_>) -> Markup {
    html! {
        h3 { (title) }
        @if jobs.is_empty() {
            p.muted { "None." }
        } @else {
            table.jobs-table {
                thead { tr { th { "Job" } th { "Result" } th { "Attempts" } th { "Upgrade from" } } }
                tbody {
                    @for j in jobs {
                        tr.job-row data-job=(j.name) {
                            td.mono { (j.name) }
                            td { span class=(format!("job {}", result_class(j.result))) { (result_icon(j.result)) " " (j.result.label()) } }
                            td {
                                @if j.attempts.is_empty() { span.muted { "not started" } }
                                ul.edges { @for a in &j.attempts { (attempt_line(a)) } }
                            }
                            td { @if let Some(f) = &j.upgrade_from { (release_link(pages, f)) } @else { span.muted { "—" } } }
                        }
                    }
                }
            }
        }
    }
}

fn short(commit: &Option<String>) -> String {
    commit
        .as_deref()
        .map_or("?".to_string(), |c| c.chars().take(10).collect())
}

fn changes_table(title: &str, changes: &[ImageChange]) -> Markup {
    html! {
        @if !changes.is_empty() {
            h3 { (title) " (" (changes.len()) ")" }
            table.diff {
                thead { tr { th { "Component" } th { "Commits" } th { "Image" } } }
                tbody {
                    @for c in changes {
                        tr {
                            td.mono { (c.name) }
                            td.mono {
                                @match c.compare_url.as_deref().and_then(safe_href) {
                                    Some(href) => a href=(href) { (short(&c.from_commit)) "…" (short(&c.to_commit)) },
                                    None => { (short(&c.from_commit)) " → " (short(&c.to_commit)) },
                                }
                            }
                            td.pullspec { (c.to_pullspec) }
                        }
                    }
                }
            }
        }
    }
}

fn only_table(title: &str, images: &[ImageOnlyIn]) -> Markup {
    html! {
        @if !images.is_empty() {
            h3 { (title) " (" (images.len()) ")" }
            table.diff {
                thead { tr { th { "Component" } th { "Commit" } th { "Image" } } }
                tbody {
                    @for c in images {
                        tr { td.mono { (c.name) } td.mono { (short(&c.commit)) } td.pullspec { (c.pullspec) } }
                    }
                }
            }
        }
    }
}

fn diff_section(d: &DiffSummary, pages: &Pages<'_>) -> Markup {
    html! {
        h2 { "Changes from " (release_link(pages, &d.from.name)) }
        p {
            (diff_counts(d))
            @if d.identical { " · identical images" }
            @match d.upgrade_from {
                Some(true) => { " · upgrades from " span.mono { (d.from.name) } " are declared" },
                Some(false) => { " · " span.mono { (d.from.name) } " is not among its upgrade sources" },
                None => {},
            }
        }
        @if !d.component_versions.is_empty() {
            h3 { "Component versions" }
            table.diff {
                thead { tr { th { "Component" } th { "From" } th { "To" } } }
                tbody {
                    @for v in &d.component_versions {
                        tr {
                            td { (if v.display_name.is_empty() { &v.component } else { &v.display_name }) }
                            td.mono { (v.from.as_deref().unwrap_or("—")) }
                            td.mono { (v.to.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
        }
        (changes_table("Changed", &d.changed))
        (changes_table("Rebuilt", &d.rebuilt))
        (only_table("Added", &d.added))
        (only_table("Removed", &d.removed))
        @let m = &d.manifests;
        @if !(m.changed.is_empty() && m.added.is_empty() && m.removed.is_empty()) {
            h3 { "Manifests" }
            p { (m.changed.len()) " changed · " (m.added.len()) " added · " (m.removed.len()) " removed" }
        }
        @if let Some(text) = &d.text {
            details { summary { "Full text" } pre { (text) } }
        }
    }
}

/// The page of one release.
pub(crate) fn release_page(model: &ReportModel, r: &ReleaseEntry, pages: &Pages<'_>) -> Markup {
    let blocking: Vec<&JobEntry> = r.jobs.iter().filter(|j| j.gate == Gate::Blocking).collect();
    let informing: Vec<&JobEntry> = r.jobs.iter().filter(|j| j.gate != Gate::Blocking).collect();
    let edges: Vec<_> = model
        .edges
        .iter()
        .filter(|e| e.to == r.name || e.from == r.name)
        .collect();
    let body = html! {
        header.top {
            div.sub { a href="index.html" { "← " (model.stream) } }
            h1 { span.mono { (r.name) } " " (badge(r.phase)) }
        }
        section.card {
            dl.facts {
                dt { "Phase" } dd { (phase_label(r.phase))
                    @if let Some(reason) = &r.reason { " — " (reason) }
                    @if let Some(message) = &r.message { div.muted { (message) } } }
                dt { "Created" } dd { (time(r.created)) }
                dt { "Pullspec" } dd.mono { (r.pullspec) }
                @if let Some(d) = &r.digest { dt { "Digest" } dd.mono { (d) } }
                @if r.signed { dt { "Signature" } dd { span.badge.signed { "signed" } " by the stream's key" } }
            }
        }
        section.card #jobs {
            h2 { "Jobs" }
            (jobs_table("Blocking jobs", &blocking, pages))
            (jobs_table("Informing jobs", &informing, pages))
        }
        section.card #upgrades {
            h2 { "Upgrades" }
            @if edges.is_empty() { p.muted { "No upgrade results." } }
            ul.edges {
                @for e in &edges {
                    li { (release_link(pages, &e.from)) " → " (release_link(pages, &e.to)) ": " (counts(e.success, e.failure)) }
                }
            }
        }
        section.card #changes {
            @if let Some(d) = &r.diff { (diff_section(d, pages)) }
            @else { h2 { "Changes" } p.muted { "No comparison with an earlier release." } }
        }
        footer { "okd-streams stream report" }
    };
    page(&format!("{} — {}", r.name, model.stream), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_links() {
        assert_eq!(
            safe_href("https://prow.ci/view/1").as_deref(),
            Some("https://prow.ci/view/1")
        );
        assert_eq!(
            safe_href("/var/log/okd gating/a.log").as_deref(),
            Some("file:///var/log/okd%20gating/a.log")
        );
        assert_eq!(safe_href("logs/a.log").as_deref(), Some("logs/a.log"));
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,<b>x</b>"), None);
        assert_eq!(safe_href("//evil.example/x"), None);
        assert_eq!(safe_href(" "), None);
    }

    #[test]
    fn durations() {
        let t = |s| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        assert_eq!(duration(t(0), t(42)), "42s");
        assert_eq!(duration(t(0), t(185)), "3m 05s");
        assert_eq!(duration(t(0), t(3 * 3600 + 125)), "3h 02m");
    }
}
