//! Kubernetes names: task and resource names must be DNS-1123 labels (lowercase letters,
//! digits and `-`, at most 63 characters), and tekton-lint also wants them to start with a
//! letter.

use sha2::{Digest as _, Sha256};

use super::JOB_TASK_PREFIX;

/// Longest label.
pub(crate) const MAX_LABEL: usize = 63;

/// True for a lowercase kebab-case name that starts with a letter and fits a label.
pub(crate) fn is_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// `text` as a label: lowercase, runs of other characters turned into one `-`.
pub(crate) fn to_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `name` cut to fit a label, with a hash of the whole name keeping cut names distinct.
pub(crate) fn fit(name: &str) -> String {
    if name.len() <= MAX_LABEL {
        return name.to_string();
    }
    let hash = Sha256::digest(name.as_bytes());
    let suffix: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut head = name[..MAX_LABEL - suffix.len() - 1].to_string();
    while head.ends_with('-') {
        head.pop();
    }
    format!("{head}-{suffix}")
}

/// The pipeline task of job `job`.
pub(crate) fn job_task_name(job: &str) -> String {
    fit(&format!("{JOB_TASK_PREFIX}{}", to_label(job)))
}

/// The resource-name prefix for a stream: `okd-stream-<stream as a label>`.
pub(crate) fn resource_prefix(stream: &str) -> String {
    let label = to_label(stream);
    if label.is_empty() {
        "okd-stream".to_string()
    } else {
        format!("okd-stream-{label}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(is_label("assemble"));
        assert!(is_label("verify-e2e-aws-2"));
        assert!(!is_label("4-19"));
        assert!(!is_label("Assemble"));
        assert!(!is_label("a-"));
        assert!(!is_label(""));
        assert!(!is_label(&"a".repeat(64)));
        assert_eq!(to_label("4.19.0-0.okd-scos"), "4-19-0-0-okd-scos");
        assert_eq!(to_label("E2E_AWS  upgrade!"), "e2e-aws-upgrade");
        assert_eq!(
            resource_prefix("4.19.0-0.okd-scos"),
            "okd-stream-4-19-0-0-okd-scos"
        );
        assert_eq!(job_task_name("e2e-aws"), "verify-e2e-aws");
    }

    #[test]
    fn long_names_are_cut_and_stay_distinct() {
        let a = fit(&format!("{}-a", "x".repeat(70)));
        let b = fit(&format!("{}-b", "x".repeat(70)));
        assert_eq!(a.len(), MAX_LABEL);
        assert!(is_label(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(fit("short"), "short");
    }
}
