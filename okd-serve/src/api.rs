//! The release-controller's JSON API (`/api/v1/…`), with its paths, field names and query
//! parameters.

use std::collections::{BTreeMap, HashMap};

use okd_gating::{Gate, JobState, Phase, ReleaseRecord, RunState, UpgradeGraph, evaluate};
use serde::Serialize;

use crate::nodes::release_payload;
use crate::range::VersionRange;
use crate::snapshot::{Snapshot, StreamView};

/// The controller's message for a stream it does not know.
pub const STREAM_NOT_FOUND: &str = "no release configuration exists with the requested name";
/// The controller's message when no tag satisfies a `latest` request.
pub const TAG_NOT_FOUND: &str = "no tags exist within the release that satisfy the request";
/// The controller's answer to an unknown `?format=` of `latest` and `tags`.
pub const UNSUPPORTED_LATEST_FORMAT: &str =
    "error: Must specify one of '', 'json', 'pullSpec', 'name', or 'downloadURL";

/// A release tag (`APITag`).
#[derive(Debug, Clone, Serialize)]
pub struct ApiTag {
    /// The tag (release version).
    pub name: String,
    /// Its phase.
    pub phase: String,
    /// Where a cluster pulls it from.
    #[serde(rename = "pullSpec")]
    pub pull_spec: String,
    /// Tools download page (none here).
    #[serde(rename = "downloadURL")]
    pub download_url: String,
}

/// A stream and its tags (`APIRelease`).
#[derive(Debug, Clone, Serialize)]
pub struct ApiRelease {
    /// The stream.
    pub name: String,
    /// Its tags, newest first.
    pub tags: Vec<ApiTag>,
}

/// A job's state (`VerificationStatus`).
#[derive(Debug, Clone, Serialize)]
pub struct VerificationStatus {
    /// `Succeeded`, `Failed`, `Pending` or `Unknown`.
    pub state: String,
    /// Where the last run's log is.
    pub url: String,
    /// Retries so far.
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Jobs by kind (`VerificationJobsSummary`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerificationJobsSummary {
    /// Blocking jobs.
    #[serde(rename = "blockingJobs", skip_serializing_if = "BTreeMap::is_empty")]
    pub blocking_jobs: BTreeMap<String, VerificationStatus>,
    /// Informing jobs.
    #[serde(rename = "informingJobs", skip_serializing_if = "BTreeMap::is_empty")]
    pub informing_jobs: BTreeMap<String, VerificationStatus>,
    /// Jobs not finished yet.
    #[serde(rename = "pendingJobs", skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_jobs: BTreeMap<String, VerificationStatus>,
}

/// One recorded result of an edge (`UpgradeResult`).
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeResult {
    /// `Success` or `Failure`.
    pub state: String,
    /// The run.
    pub url: String,
}

/// An upgrade edge with its results (`UpgradeHistory`, Go's field names as they marshal).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpgradeHistory {
    /// Source release.
    pub from: String,
    /// Target release.
    pub to: String,
    /// Successful runs.
    pub success: u32,
    /// Failed runs.
    pub failure: u32,
    /// All runs.
    pub total: u32,
    /// Results by run.
    pub history: BTreeMap<String, UpgradeResult>,
}

/// A release's verification and upgrades (`APIReleaseInfo`).
#[derive(Debug, Clone, Serialize)]
pub struct ApiReleaseInfo {
    /// The tag.
    pub name: String,
    /// Its phase.
    pub phase: String,
    /// Its jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<VerificationJobsSummary>,
    /// Upgrades into it.
    #[serde(rename = "upgradesTo", skip_serializing_if = "Vec::is_empty")]
    pub upgrades_to: Vec<UpgradeHistory>,
    /// Upgrades out of it.
    #[serde(rename = "upgradesFrom", skip_serializing_if = "Vec::is_empty")]
    pub upgrades_from: Vec<UpgradeHistory>,
    /// What changed against the release built before it (okd-release's diff document, as
    /// `okd-streams release diff -o json` prints it); absent for the first release. The
    /// controller's `changeLog` is a commit log it gets from the release images' sources,
    /// which okd-streams does not have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<serde_json::Value>,
}

/// An API answer: status, content type, body.
#[derive(Debug)]
pub struct ApiAnswer {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl ApiAnswer {
    fn json(value: &impl Serialize) -> ApiAnswer {
        let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
        body.push(b'\n');
        ApiAnswer {
            status: 200,
            content_type: "application/json",
            body,
        }
    }

    fn text(line: &str) -> ApiAnswer {
        ApiAnswer {
            status: 200,
            content_type: "text/plain",
            body: format!("{line}\n").into_bytes(),
        }
    }

    /// A JSON error `{"code": N, "message": "…"}`.
    pub fn error(status: u16, message: &str) -> ApiAnswer {
        let mut a = ApiAnswer::json(&serde_json::json!({"code": status, "message": message}));
        a.status = status;
        a
    }
}

fn phase_name(p: Phase) -> String {
    format!("{p:?}")
}

/// A stream's tags, newest first.
fn sorted_tags(view: &StreamView) -> impl Iterator<Item = &ReleaseRecord> {
    view.by_version
        .iter()
        .filter_map(|i| view.state.releases.get(*i))
}

fn api_tag(view: &StreamView, r: &ReleaseRecord) -> ApiTag {
    ApiTag {
        name: r.name.clone(),
        phase: phase_name(r.phase),
        pull_spec: release_payload(view, r).0,
        download_url: String::new(),
    }
}

/// `/api/v1/releasestream/{stream}/latest`.
pub fn latest(snapshot: &Snapshot, stream: &str, q: &HashMap<String, String>) -> ApiAnswer {
    let range = match q.get("in").filter(|s| !s.is_empty()) {
        Some(text) => match VersionRange::parse(text) {
            Ok(r) => Some(r),
            Err(e) => {
                return ApiAnswer::error(
                    400,
                    &format!("error: ?in must be a valid semantic version range: {e}"),
                );
            }
        },
        None => None,
    };
    let rel = match q.get("rel").filter(|s| !s.is_empty()) {
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 0 => n as usize,
            Ok(_) => return ApiAnswer::error(400, "error: ?rel must be non-negative integer"),
            Err(e) => {
                return ApiAnswer::error(
                    400,
                    &format!("error: ?rel must be non-negative integer: {e}"),
                );
            }
        },
        None => 0,
    };
    let format = q.get("format").map(String::as_str).unwrap_or("");
    if !matches!(format, "" | "json" | "pullSpec" | "name" | "downloadURL") {
        return ApiAnswer::error(400, UNSUPPORTED_LATEST_FORMAT);
    }
    let Some(view) = snapshot.stream(stream) else {
        return ApiAnswer::error(404, STREAM_NOT_FOUND);
    };
    let prefix = q.get("prefix").map(String::as_str).unwrap_or("");
    let found = sorted_tags(view)
        .filter(|r| r.phase == Phase::Accepted && r.name.starts_with(prefix))
        .filter(|r| match &range {
            Some(range) => semver::Version::parse(&r.name).is_ok_and(|v| range.contains(&v)),
            None => true,
        })
        .nth(rel);
    let Some(r) = found else {
        return ApiAnswer::error(404, TAG_NOT_FOUND);
    };
    let tag = api_tag(view, r);
    match format {
        "pullSpec" => ApiAnswer::text(&tag.pull_spec),
        "name" => ApiAnswer::text(&tag.name),
        "downloadURL" => ApiAnswer::text(&tag.download_url),
        _ => ApiAnswer::json(&tag),
    }
}

/// `/api/v1/releasestream/{stream}/tags` (`?phase=` may repeat; given as a list).
pub fn tags(snapshot: &Snapshot, stream: &str, phases: &[String], format: &str) -> ApiAnswer {
    if !matches!(format, "" | "json") {
        return ApiAnswer::error(400, UNSUPPORTED_LATEST_FORMAT);
    }
    let Some(view) = snapshot.stream(stream) else {
        return ApiAnswer::error(404, &format!("Unable to find release {stream}"));
    };
    let tags = sorted_tags(view)
        .filter(|r| phases.is_empty() || phases.contains(&phase_name(r.phase)))
        .map(|r| api_tag(view, r))
        .collect();
    ApiAnswer::json(&ApiRelease {
        name: stream.to_string(),
        tags,
    })
}

fn histories(graph: &UpgradeGraph, keep: impl Fn(&str, &str) -> bool) -> Vec<UpgradeHistory> {
    let records: Vec<okd_gating::UpgradeRecord> = graph.clone().into();
    records
        .into_iter()
        .filter(|r| keep(&r.from, &r.to))
        .map(|r| {
            let mut h = UpgradeHistory {
                from: r.from,
                to: r.to,
                success: 0,
                failure: 0,
                total: 0,
                history: BTreeMap::new(),
            };
            for res in r.results {
                let state = match res.state {
                    RunState::Succeeded => {
                        h.success += 1;
                        "Success"
                    }
                    RunState::Failed => {
                        h.failure += 1;
                        "Failure"
                    }
                    RunState::Pending | RunState::Skipped => continue,
                };
                h.total += 1;
                h.history.insert(
                    res.url.clone(),
                    UpgradeResult {
                        state: state.to_string(),
                        url: res.url,
                    },
                );
            }
            h
        })
        .collect()
}

fn job_state(s: JobState) -> &'static str {
    match s {
        // The controller has no skipped state: a job that never ran has no result, Unknown.
        JobState::Unknown | JobState::Skipped => "Unknown",
        JobState::Pending => "Pending",
        JobState::Success => "Succeeded",
        JobState::Failure => "Failed",
    }
}

fn results(view: &StreamView, r: &ReleaseRecord) -> VerificationJobsSummary {
    let mut summary = VerificationJobsSummary::default();
    for job in evaluate(&view.served.policy, r).jobs {
        let last = r.runs.iter().rev().find(|run| run.job == job.name);
        let status = VerificationStatus {
            state: job_state(job.state).to_string(),
            url: last
                .map(|run| run.log.clone().unwrap_or_else(|| run.run_name(&r.name)))
                .unwrap_or_default(),
            retries: last.map(|run| run.attempt).unwrap_or(0),
        };
        let map = match (job.state, job.gate) {
            (JobState::Pending | JobState::Unknown, _) => &mut summary.pending_jobs,
            (_, Gate::Blocking) => &mut summary.blocking_jobs,
            _ => &mut summary.informing_jobs,
        };
        map.insert(job.name.clone(), status);
    }
    summary
}

/// `/api/v1/releasestream/{stream}/release/{tag}`; `diff` is the release's diff against the
/// one built before it, when there is one.
pub fn release(
    snapshot: &Snapshot,
    stream: &str,
    tag: &str,
    diff: Option<&okd_release::ReleaseDiff>,
) -> ApiAnswer {
    let Some(view) = snapshot.stream(stream) else {
        return ApiAnswer::error(
            404,
            &format!("unable to find release tag {tag}, it may have been deleted"),
        );
    };
    let Some(r) = view.state.release(tag) else {
        return ApiAnswer::error(
            404,
            &format!("unable to find release tag {tag}, it may have been deleted"),
        );
    };
    ApiAnswer::json(&ApiReleaseInfo {
        name: r.name.clone(),
        phase: phase_name(r.phase),
        results: Some(results(view, r)),
        upgrades_to: histories(&snapshot.graph, |_, to| to == tag),
        upgrades_from: histories(&snapshot.graph, |from, _| from == tag),
        changes: diff.and_then(|d| serde_json::from_str(&d.to_json()).ok()),
    })
}

/// `/api/v1/releasestreams/accepted|rejected|all`: tag names by stream, newest first.
pub fn streams(snapshot: &Snapshot, phase: Option<Phase>) -> ApiAnswer {
    let map: BTreeMap<&str, Vec<&str>> = snapshot
        .streams
        .iter()
        .map(|view| {
            let tags = sorted_tags(view)
                .filter(|r| phase.is_none_or(|p| r.phase == p))
                .map(|r| r.name.as_str())
                .collect();
            (view.served.name.as_str(), tags)
        })
        .collect();
    ApiAnswer::json(&map)
}
