//! The release-controller `ReleaseConfig` JSON, field for field.
//!
//! These are plain data types that mirror the wire format of the `release.openshift.io/config`
//! annotation (the `_releases/*.json` files of `openshift/release`). Field names follow the JSON
//! keys; Go's zero values are Rust defaults, and defaults are left out when serialising. The
//! interpreted, validated form is [`GatingPolicy`](crate::GatingPolicy); loading with strict or
//! lenient rules is [`parse_release_config`](crate::parse_release_config).
//!
//! ```
//! use okd_gating::{parse_release_config, ParseMode};
//! let json = br#"{"name":"4.19.0-0.okd-scos","to":"release-scos",
//!   "verify":{"aws":{"maxRetries":2,"prowJob":{"name":"e2e-aws"}}}}"#;
//! let cfg = parse_release_config(json, "inline.json", ParseMode::Strict)?;
//! assert_eq!(cfg.verify["aws"].max_retries, 2);
//! # Ok::<(), okd_gating::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::GoDuration;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A release stream's configuration (`ReleaseConfig` in the release-controller).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseConfig {
    /// Stream name; new release tags are named `<name>-<UTC YYYY-MM-DD-HHMMSS>`. Required.
    #[serde(default)]
    pub name: String,
    /// Markdown shown at the top of the stream's page.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// De-emphasise the stream in user interfaces.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hide: bool,
    /// The stream is no longer synced (no new releases, no periodics).
    #[serde(default, skip_serializing_if = "is_false")]
    pub end_of_life: bool,
    /// `""` (Integration: payloads are built from the input images) or `"Stable"` (payloads are
    /// tagged in by people and only verified).
    #[serde(default, rename = "as", skip_serializing_if = "String::is_empty")]
    pub as_: String,
    /// Target image stream (repository) of an Integration stream. Required unless Stable.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Do not create a new release while this many are not yet decided (0: no limit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_unready_releases: i64,
    /// Seconds that must pass after the newest release before another is created (0: off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_creation_interval_seconds: i64,
    /// `""`/`public` (images copied) or `source` (payload refers to source images).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference_mode: String,
    /// Pull secret mounted into the release-creation job.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pull_secret_name: String,
    /// Prefix of the point-in-time mirror of the inputs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mirror_prefix: String,
    /// Alternative `oc` image for jobs of this stream.
    #[serde(
        default,
        rename = "overrideCLIImage",
        skip_serializing_if = "String::is_empty"
    )]
    pub override_cli_image: String,
    /// Accepted releases beyond the newest five that are older than this are removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<GoDuration>,
    /// Verification jobs by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify: BTreeMap<String, ReleaseVerification>,
    /// Periodic jobs against the newest accepted release, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub periodic: BTreeMap<String, ReleasePeriodic>,
    /// Publish steps applied to the newest accepted release, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub publish: BTreeMap<String, ReleasePublish>,
    /// Health checks shown in user interfaces, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub check: BTreeMap<String, ReleaseCheck>,
    /// Stable streams only: sampled upgrade jobs by platform.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upgrade: BTreeMap<String, UpgradeVerification>,
    /// External repository that Ready releases are mirrored to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alternate_image_repository: String,
    /// Secret used to push to [`alternate_image_repository`](Self::alternate_image_repository).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alternate_image_repository_secret_name: String,
    /// Reference-mode payloads pushed to an external repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_release: Option<ReferenceRelease>,
    /// Do not keep manifest lists when building payloads.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_manifest_list_mode: bool,
}

/// A verification job (`ReleaseVerification`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseVerification {
    /// Not run, not part of the payload.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Informing: a failure never rejects.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// Not waited for before a verdict (requires `optional`).
    #[serde(default, rename = "async", skip_serializing_if = "is_false")]
    pub async_: bool,
    /// An upgrade test: `RELEASE_IMAGE_INITIAL` is the resolved source.
    #[serde(default, skip_serializing_if = "is_false")]
    pub upgrade: bool,
    /// `Previous`, `PreviousPatch` or `PreviousMinor` (empty: the stream's default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub upgrade_from: String,
    /// An explicit upgrade source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_from_release: Option<UpgradeRelease>,
    /// The prow job to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_job: Option<ProwJobVerification>,
    /// Extra attempts after a failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_retries: i64,
    /// Run N copies of the prow job and judge them together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated_prow_job: Option<AggregatedProwJobVerification>,
    /// The job analyses other jobs of the payload (gets `PAYLOAD_TAG` and friends).
    #[serde(default, skip_serializing_if = "is_false")]
    pub multi_job_analysis: bool,
    /// Release-qualifier overrides (reporting only; kept as given, not interpreted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub qualifiers: BTreeMap<String, serde_json::Value>,
}

/// Names a prow job (`ProwJobVerification`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProwJobVerification {
    /// The prow job name.
    #[serde(default)]
    pub name: String,
}

/// Aggregation of N runs of a job (`AggregatedProwJobVerification`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedProwJobVerification {
    /// The aggregator job (default `release-openshift-release-analysis-aggregator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_job: Option<ProwJobVerification>,
    /// How many analysis runs to start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub analysis_job_count: i64,
}

/// An explicit upgrade source (`UpgradeRelease`): exactly one of the three is expected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeRelease {
    /// The latest accepted release of another stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<UpgradeCandidate>,
    /// A prerelease within version bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerelease: Option<UpgradePrerelease>,
    /// An official release from a channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<OfficialRelease>,
}

/// `candidate`: stream `<version>.0-0.<stream><to-suffix>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeCandidate {
    /// Stream kind, e.g. `okd`, `nightly`, `ci`.
    #[serde(default)]
    pub stream: String,
    /// Minor version, e.g. `4.18`.
    #[serde(default)]
    pub version: String,
    /// How many accepted releases to skip (0: the newest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub relative: i64,
}

/// `prerelease`: a release within version bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePrerelease {
    /// The bounds.
    #[serde(default)]
    pub version_bounds: VersionBounds,
}

/// Exclusive version bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionBounds {
    /// Lower bound (exclusive).
    #[serde(default)]
    pub lower: String,
    /// Upper bound (exclusive).
    #[serde(default)]
    pub upper: String,
}

/// `release`: an official release resolved from a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialRelease {
    /// Minor version, e.g. `4.18`.
    #[serde(default)]
    pub version: String,
    /// Channel kind, e.g. `stable`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Architecture, e.g. `amd64`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
}

/// A periodic job (`ReleasePeriodic`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePeriodic {
    /// Go duration between runs (exclusive with `cron`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interval: String,
    /// Cron schedule (exclusive with `interval`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cron: String,
    /// An upgrade job.
    #[serde(default, skip_serializing_if = "is_false")]
    pub upgrade: bool,
    /// Upgrade source (`PreviousMinus1` allowed here).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub upgrade_from: String,
    /// An explicit upgrade source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_from_release: Option<UpgradeRelease>,
    /// The prow job to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_job: Option<ProwJobVerification>,
}

/// A publish step (`ReleasePublish`): at most one action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePublish {
    /// Skip this step.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Point a tag at the newest accepted release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_ref: Option<PublishTagReference>,
    /// Copy the release into another image stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_stream_ref: Option<PublishStreamReference>,
    /// Mark Jira issues fixed by the release as verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_issues: Option<PublishVerifyIssues>,
}

/// `tagRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishTagReference {
    /// The tag to point at the release, e.g. `scos-4.19`.
    #[serde(default)]
    pub name: String,
}

/// `imageStreamRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishStreamReference {
    /// Target image stream.
    #[serde(default)]
    pub name: String,
    /// Its namespace (default: the release's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Only these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Not these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tags: Vec<String>,
}

/// `verifyIssues`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishVerifyIssues {
    /// The release before the one being published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_release_tag: Option<TagInfo>,
}

/// An image stream tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInfo {
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Image stream.
    #[serde(default)]
    pub name: String,
    /// Tag.
    #[serde(default)]
    pub tag: String,
}

/// A user-interface health check (`ReleaseCheck`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseCheck {
    /// Compare images with a parent stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_images: Option<ConsistentImages>,
}

/// `consistentImages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistentImages {
    /// The parent stream.
    #[serde(default)]
    pub parent: String,
}

/// A sampled upgrade job of a Stable stream (`UpgradeVerification`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeVerification {
    /// Skip this platform.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The prow job to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_job: Option<ProwJobVerification>,
}

/// `referenceRelease`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceRelease {
    /// Repository payloads are pushed to.
    #[serde(default)]
    pub push_repository: String,
    /// Repository payloads are pulled from.
    #[serde(default)]
    pub pull_repository: String,
    /// Secret for pushing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_name: String,
}
