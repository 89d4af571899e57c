//! Loading a [`ReleaseConfig`] with the release-controller's rules.
//!
//! Two modes:
//!
//! * [`ParseMode::Lenient`] behaves like the controller's runtime parser (`ParseReleaseConfig`):
//!   unknown fields are ignored, and only the runtime rules apply (`name` required, `to` required
//!   unless Stable, non-empty job and publish names, `upgradeFrom` one of `Previous`,
//!   `PreviousPatch`, `PreviousMinor`, non-empty prow job and tag names, 16 KiB limit).
//! * [`ParseMode::Strict`] behaves like the CI validation of `openshift/release`
//!   (`config_validate.go`) on top of that: unknown fields are errors, `async` requires `optional`
//!   and `maxRetries: 0`, `upgradeFrom` and `upgradeFromRelease` are exclusive, periodics have
//!   exactly one parseable `cron` or `interval`, aggregated jobs are not `optional`, job names do
//!   not end in `-<digits>` (retries use that suffix), qualifier overrides carry no `approval`.
//!   okd-streams adds a few checks that the controller leaves to crash or stall at run time: no
//!   negative counts, `as` is `""`, `Integration` or `Stable`, a job that is not disabled names a
//!   prow job, an aggregated job runs at least one analysis job, `upgradeFromRelease` sets exactly
//!   one source, a publish step has at most one action.
//!
//! The 16 KiB limit applies to the compacted JSON, which is what the controller reads from the
//! image stream annotation (the pretty-printed files in `openshift/release` are larger).
//! Go matches JSON keys case-insensitively; okd-streams matches them exactly.
//!
//! ```
//! use okd_gating::{parse_release_config, Error, ParseMode};
//! let json = br#"{"name":"s","to":"release","verify":{"aws":{"prowJob":{"name":"j"},"maxRetry":1}}}"#;
//! assert!(parse_release_config(json, "s.json", ParseMode::Lenient).is_ok());
//! let err = parse_release_config(json, "s.json", ParseMode::Strict).unwrap_err();
//! assert!(matches!(err, Error::UnknownField { ref field, .. } if field == "verify.aws.maxRetry"));
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::{ReleaseConfig, UpgradeRelease};
use crate::{Error, duration};

/// The controller refuses configs larger than this (bytes of compacted JSON).
pub const MAX_CONFIG_SIZE: usize = 16 * 1024;

/// How strictly a release config is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParseMode {
    /// Like the CI validation of `openshift/release`: unknown fields and questionable
    /// combinations are errors.
    #[default]
    Strict,
    /// Like the controller's runtime parser: unknown fields are ignored.
    Lenient,
}

/// Parses and validates a release config from bytes; `file` names it in errors.
pub fn parse_release_config(
    bytes: &[u8],
    file: &str,
    mode: ParseMode,
) -> Result<ReleaseConfig, Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::Syntax {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let size = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
    if size > MAX_CONFIG_SIZE {
        return Err(Error::TooLarge {
            file: file.to_string(),
            size,
            limit: MAX_CONFIG_SIZE,
        });
    }
    let mut unknown = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(value, &mut note);
    let cfg: ReleaseConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = match e.path().to_string() {
            p if p == "." => "(document)".to_string(),
            p => p,
        };
        Error::field(file, field, e.inner().to_string())
    })?;
    if let Some(field) = unknown.first() {
        match mode {
            ParseMode::Strict => {
                return Err(Error::UnknownField {
                    file: file.to_string(),
                    field: field.clone(),
                });
            }
            ParseMode::Lenient => {
                tracing::debug!(file, fields = ?unknown, "ignoring unknown release config fields");
            }
        }
    }
    validate_release_config(&cfg, file, mode)?;
    Ok(cfg)
}

/// Reads, parses and validates a release config file.
pub fn load_release_config(path: &Path, mode: ParseMode) -> Result<ReleaseConfig, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_release_config(&bytes, &path.display().to_string(), mode)
}

const VERIFY_UPGRADE_FROM: [&str; 4] = ["", "Previous", "PreviousPatch", "PreviousMinor"];
const PERIODIC_UPGRADE_FROM: [&str; 5] = [
    "",
    "Previous",
    "PreviousMinus1",
    "PreviousPatch",
    "PreviousMinor",
];

/// True when `name` ends in `-<digits>`, the suffix the controller gives retries.
pub(crate) fn has_retry_suffix(name: &str) -> bool {
    name.rsplit_once('-')
        .is_some_and(|(_, tail)| !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
}

/// Applies the rules of `mode` to an already parsed config.
pub fn validate_release_config(
    cfg: &ReleaseConfig,
    file: &str,
    mode: ParseMode,
) -> Result<(), Error> {
    let strict = mode == ParseMode::Strict;
    let bad = |field: String, msg: &str| Err(Error::field(file, field, msg));
    if cfg.name.is_empty() {
        return bad("name".into(), "is required");
    }
    if cfg.to.is_empty() && cfg.as_ != "Stable" {
        return bad("to".into(), "is required unless `as` is Stable");
    }
    if strict && !["", "Integration", "Stable"].contains(&cfg.as_.as_str()) {
        return bad("as".into(), "must be empty, Integration or Stable");
    }
    if strict && cfg.max_unready_releases < 0 {
        return bad("maxUnreadyReleases".into(), "must not be negative");
    }
    if strict && cfg.min_creation_interval_seconds < 0 {
        return bad("minCreationIntervalSeconds".into(), "must not be negative");
    }
    for (name, v) in &cfg.verify {
        let f = |k: &str| format!("verify.{name}.{k}");
        if name.is_empty() {
            return bad("verify".into(), "a job has an empty name");
        }
        // `Upstream` is okd-streams' own source; a strict read is the controller's.
        let upstream = !strict && v.upgrade_from == "Upstream";
        if !VERIFY_UPGRADE_FROM.contains(&v.upgrade_from.as_str()) && !upstream {
            return bad(
                f("upgradeFrom"),
                if strict {
                    "must be Previous, PreviousPatch or PreviousMinor"
                } else {
                    "must be Previous, PreviousPatch, PreviousMinor or Upstream"
                },
            );
        }
        if v.prow_job.as_ref().is_some_and(|p| p.name.is_empty()) {
            return bad(f("prowJob.name"), "must not be empty");
        }
        if !strict {
            continue;
        }
        if has_retry_suffix(name) {
            return bad(
                format!("verify.{name}"),
                "job names must not end in -<digits> (the suffix of retries)",
            );
        }
        if v.async_ && !v.optional {
            return bad(f("async"), "an async job must be optional");
        }
        if v.async_ && v.max_retries != 0 {
            return bad(f("async"), "an async job must have maxRetries 0");
        }
        if v.max_retries < 0 {
            return bad(f("maxRetries"), "must not be negative");
        }
        if !v.upgrade_from.is_empty() && v.upgrade_from_release.is_some() {
            return bad(
                f("upgradeFromRelease"),
                "cannot be set together with upgradeFrom",
            );
        }
        if let Some(r) = &v.upgrade_from_release {
            check_upgrade_release(r, file, &f("upgradeFromRelease"))?;
        }
        if let Some(agg) = &v.aggregated_prow_job {
            if v.optional {
                return bad(
                    f("aggregatedProwJob"),
                    "an aggregated job cannot be optional",
                );
            }
            if agg.analysis_job_count < 1 {
                return bad(
                    f("aggregatedProwJob.analysisJobCount"),
                    "must be at least 1",
                );
            }
            if agg.prow_job.as_ref().is_some_and(|p| p.name.is_empty()) {
                return bad(f("aggregatedProwJob.prowJob.name"), "must not be empty");
            }
        }
        if !v.disabled && v.prow_job.is_none() {
            return bad(f("prowJob"), "is required for a job that is not disabled");
        }
        for (id, q) in &v.qualifiers {
            if q.get("approval").is_some() {
                return bad(
                    format!("verify.{name}.qualifiers.{id}.approval"),
                    "is not allowed in a release config",
                );
            }
        }
    }
    for (name, p) in &cfg.publish {
        let f = |k: &str| format!("publish.{name}.{k}");
        if name.is_empty() {
            return bad("publish".into(), "a publish step has an empty name");
        }
        if p.tag_ref.as_ref().is_some_and(|t| t.name.is_empty()) {
            return bad(f("tagRef.name"), "must not be empty");
        }
        if p.image_stream_ref
            .as_ref()
            .is_some_and(|t| t.name.is_empty())
        {
            return bad(f("imageStreamRef.name"), "must not be empty");
        }
        let actions = usize::from(p.tag_ref.is_some())
            + usize::from(p.image_stream_ref.is_some())
            + usize::from(p.verify_issues.is_some());
        if strict && actions > 1 {
            return bad(
                format!("publish.{name}"),
                "sets more than one of tagRef, imageStreamRef, verifyIssues",
            );
        }
    }
    if !strict {
        return Ok(());
    }
    for (name, p) in &cfg.periodic {
        let f = |k: &str| format!("periodic.{name}.{k}");
        match (p.cron.is_empty(), p.interval.is_empty()) {
            (true, true) => return bad(format!("periodic.{name}"), "needs a cron or an interval"),
            (false, false) => {
                return bad(
                    format!("periodic.{name}"),
                    "cannot have both cron and interval",
                );
            }
            (true, false) => {
                if let Err(e) = duration::parse_duration(&p.interval, false) {
                    return bad(f("interval"), &e.to_string());
                }
            }
            (false, true) => check_cron(&p.cron).map_err(|m| Error::field(file, f("cron"), m))?,
        }
        if !PERIODIC_UPGRADE_FROM.contains(&p.upgrade_from.as_str()) {
            return bad(
                f("upgradeFrom"),
                "must be Previous, PreviousMinus1, PreviousPatch or PreviousMinor",
            );
        }
        if !p.upgrade_from.is_empty() && p.upgrade_from_release.is_some() {
            return bad(
                f("upgradeFromRelease"),
                "cannot be set together with upgradeFrom",
            );
        }
        if let Some(r) = &p.upgrade_from_release {
            check_upgrade_release(r, file, &f("upgradeFromRelease"))?;
        }
        if p.prow_job.as_ref().is_none_or(|j| j.name.is_empty()) {
            return bad(f("prowJob.name"), "is required");
        }
    }
    for (platform, u) in &cfg.upgrade {
        if !u.disabled && u.prow_job.as_ref().is_none_or(|j| j.name.is_empty()) {
            return bad(format!("upgrade.{platform}.prowJob.name"), "is required");
        }
    }
    Ok(())
}

fn check_upgrade_release(r: &UpgradeRelease, file: &str, field: &str) -> Result<(), Error> {
    let set = usize::from(r.candidate.is_some())
        + usize::from(r.prerelease.is_some())
        + usize::from(r.release.is_some());
    if set != 1 {
        return Err(Error::field(
            file,
            field,
            "must set exactly one of candidate, prerelease, release",
        ));
    }
    if let Some(c) = &r.candidate {
        if c.stream.is_empty() || c.version.is_empty() {
            return Err(Error::field(
                file,
                format!("{field}.candidate"),
                "needs stream and version",
            ));
        }
        if c.relative < 0 {
            return Err(Error::field(
                file,
                format!("{field}.candidate.relative"),
                "must not be negative",
            ));
        }
    }
    if let Some(o) = &r.release
        && o.version.is_empty()
    {
        return Err(Error::field(
            file,
            format!("{field}.release.version"),
            "is required",
        ));
    }
    Ok(())
}

/// Checks a prow-style cron spec: five or six fields, `@daily`-style nicknames, `@every <dur>`.
fn check_cron(spec: &str) -> Result<(), String> {
    if let Some(every) = spec.trim().strip_prefix("@every") {
        return duration::parse_duration(every.trim(), false)
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    spec.parse::<croner::Cron>()
        .map(|_| ())
        .map_err(|e| format!("cannot parse cron {spec:?}: {e}"))
}

/// Checks a set of configs together the way CI does: the same periodic prow job must not be
/// configured twice. Each entry is `(file, config)`.
pub fn check_periodic_uniqueness(configs: &[(String, ReleaseConfig)]) -> Result<(), Error> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (file, cfg) in configs {
        for p in cfg.periodic.values() {
            let Some(job) = p.prow_job.as_ref() else {
                continue;
            };
            if let Some(first) = seen.insert(&job.name, file) {
                return Err(Error::DuplicatePeriodic {
                    prow_job: job.name.clone(),
                    first: first.to_string(),
                    second: file.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(json: &str) -> Result<ReleaseConfig, Error> {
        parse_release_config(json.as_bytes(), "t.json", ParseMode::Strict)
    }
    fn lenient(json: &str) -> Result<ReleaseConfig, Error> {
        parse_release_config(json.as_bytes(), "t.json", ParseMode::Lenient)
    }
    fn field_of(e: Error) -> String {
        match e {
            Error::InvalidField { field, .. } | Error::UnknownField { field, .. } => field,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn runtime_rules_apply_in_both_modes() {
        for parse in [strict, lenient] {
            assert_eq!(field_of(parse(r#"{"to":"r"}"#).unwrap_err()), "name");
            assert_eq!(field_of(parse(r#"{"name":"s"}"#).unwrap_err()), "to");
            assert!(parse(r#"{"name":"s","as":"Stable"}"#).is_ok());
            let e = parse(
                r#"{"name":"s","to":"r","verify":{"a":{"prowJob":{"name":"j"},"upgradeFrom":"PreviousMinus1"}}}"#,
            )
            .unwrap_err();
            assert_eq!(field_of(e), "verify.a.upgradeFrom");
            let e = parse(r#"{"name":"s","to":"r","verify":{"a":{"prowJob":{"name":""}}}}"#)
                .unwrap_err();
            assert_eq!(field_of(e), "verify.a.prowJob.name");
            let e = parse(r#"{"name":"s","to":"r","publish":{"t":{"tagRef":{"name":""}}}}"#)
                .unwrap_err();
            assert_eq!(field_of(e), "publish.t.tagRef.name");
            let e = parse(r#"{"name":"s","to":"r","verify":{"":{"prowJob":{"name":"j"}}}}"#)
                .unwrap_err();
            assert_eq!(field_of(e), "verify");
            let e = parse(r#"{"name":"s","to":"r","maxUnreadyReleases":"1"}"#).unwrap_err();
            assert_eq!(field_of(e), "maxUnreadyReleases");
            let e = parse(r#"{"name":"s","to":"r","expires":"3 days"}"#).unwrap_err();
            assert_eq!(field_of(e), "expires");
        }
    }

    #[test]
    fn strict_rules() {
        let cases = [
            (
                r#""a":{"prowJob":{"name":"j"},"async":true}"#,
                "verify.a.async",
            ),
            (
                r#""a":{"prowJob":{"name":"j"},"async":true,"optional":true,"maxRetries":1}"#,
                "verify.a.async",
            ),
            (
                r#""a":{"prowJob":{"name":"j"},"upgrade":true,"upgradeFrom":"Previous","upgradeFromRelease":{"candidate":{"stream":"okd","version":"4.18"}}}"#,
                "verify.a.upgradeFromRelease",
            ),
            (
                r#""a":{"prowJob":{"name":"j"},"optional":true,"aggregatedProwJob":{"analysisJobCount":10}}"#,
                "verify.a.aggregatedProwJob",
            ),
            (
                r#""a":{"prowJob":{"name":"j"},"aggregatedProwJob":{}}"#,
                "verify.a.aggregatedProwJob.analysisJobCount",
            ),
            (r#""e2e-2":{"prowJob":{"name":"j"}}"#, "verify.e2e-2"),
            (r#""a":{"optional":true}"#, "verify.a.prowJob"),
            (
                r#""a":{"prowJob":{"name":"j"},"maxRetries":-1}"#,
                "verify.a.maxRetries",
            ),
            (
                r#""a":{"prowJob":{"name":"j"},"qualifiers":{"q":{"approval":{}}}}"#,
                "verify.a.qualifiers.q.approval",
            ),
            (
                r#""a":{"prowJob":{"name":"j"},"upgradeFromRelease":{}}"#,
                "verify.a.upgradeFromRelease",
            ),
        ];
        for (verify, field) in cases {
            let json = format!(r#"{{"name":"s","to":"r","verify":{{{verify}}}}}"#);
            assert!(lenient(&json).is_ok(), "lenient should accept {json}");
            assert_eq!(field_of(strict(&json).unwrap_err()), field, "{json}");
        }
        // A version-like suffix is not a retry suffix.
        assert!(
            strict(r#"{"name":"s","to":"r","verify":{"e2e-4.19":{"prowJob":{"name":"j"}}}}"#)
                .is_ok()
        );
    }

    #[test]
    fn strict_periodics() {
        let p = |body: &str| {
            format!(
                r#"{{"name":"s","to":"r","periodic":{{"p":{{"prowJob":{{"name":"j"}}{body}}}}}}}"#
            )
        };
        assert_eq!(field_of(strict(&p("")).unwrap_err()), "periodic.p");
        assert_eq!(
            field_of(strict(&p(r#","cron":"@daily","interval":"1h""#)).unwrap_err()),
            "periodic.p"
        );
        assert_eq!(
            field_of(strict(&p(r#","interval":"1 hour""#)).unwrap_err()),
            "periodic.p.interval"
        );
        assert_eq!(
            field_of(strict(&p(r#","cron":"61 * * * *""#)).unwrap_err()),
            "periodic.p.cron"
        );
        for ok in [
            r#","interval":"24h""#,
            r#","cron":"0 */6 * * *""#,
            r#","cron":"@daily""#,
            r#","cron":"@every 6h""#,
            r#","interval":"12h","upgrade":true,"upgradeFrom":"PreviousMinus1""#,
        ] {
            assert!(strict(&p(ok)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn duplicate_periodics_across_files() {
        let cfg = strict(
            r#"{"name":"s","to":"r","periodic":{"p":{"prowJob":{"name":"j"},"interval":"1h"}}}"#,
        )
        .unwrap();
        let set = vec![
            ("a.json".to_string(), cfg.clone()),
            ("b.json".to_string(), cfg),
        ];
        assert!(matches!(
            check_periodic_uniqueness(&set),
            Err(Error::DuplicatePeriodic { ref prow_job, ref second, .. }) if prow_job == "j" && second == "b.json"
        ));
    }

    #[test]
    fn size_limit_is_on_compacted_json() {
        let big = format!(
            r#"{{"name":"s","to":"r","message":"{}"}}"#,
            "x".repeat(MAX_CONFIG_SIZE)
        );
        assert!(matches!(lenient(&big), Err(Error::TooLarge { .. })));
        let padded = format!(
            "{{\"name\":\"s\",{}\"to\":\"r\"}}",
            " ".repeat(MAX_CONFIG_SIZE)
        );
        assert!(lenient(&padded).is_ok());
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let e = lenient("{").unwrap_err();
        assert!(
            matches!(e, Error::Syntax { ref file, .. } if file == "t.json"),
            "{e}"
        );
    }
}
