//! Stream files: the documented example parses and maps onto the builder; bad files fail with
//! an error naming the field.

use std::path::Path;

use okd_streams::stream::{StreamError, StreamFile};

const GUIDE: &str = include_str!("../../docs/stream-file.md");

/// The YAML block of the guide.
fn guide_yaml() -> &'static str {
    let start = GUIDE.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + GUIDE[start..].find("```").unwrap();
    &GUIDE[start..end]
}

#[test]
fn the_guide_example_parses_and_round_trips() {
    let f = StreamFile::parse(guide_yaml(), "okd-demo.yaml").unwrap();
    assert_eq!(f.name, "4.19.0-0.okd-scos");
    assert_eq!(f.gating.jobs.len(), 6);
    assert_eq!(
        f.gating.jobs["from-upstream"].upgrade_from,
        Some(okd_streams::stream::file::UpgradeFromFile::Upstream)
    );
    assert_eq!(f.promotions.len(), 2);
    let again = serde_yaml_ng::to_string(&f).unwrap();
    assert_eq!(StreamFile::parse(&again, "again.yaml").unwrap(), f);
    f.to_builder(Path::new("okd-demo.yaml")).unwrap();
}

#[test]
fn os_owners_and_canonical_modes_map_onto_the_layering() {
    use okd_streams::coreos::layer_source::LayerSource;
    let yaml = format!(
        "{BASE}os:\n  variant: scos\n  canonical_modes: true\n  layers:\n    - files:\n        - {{ path: etc/okd/token, content: t, owner: okd, group: '985' }}\n    - files:\n        - {{ path: etc/okd/plain, content: p, owner: '0' }}\n"
    );
    let f = StreamFile::parse(&yaml, "os.yaml").unwrap();
    let os = f.os.as_ref().unwrap();
    assert!(os.canonical_modes);
    assert_eq!(
        os.layers[0].files.as_ref().unwrap()[0].owner.as_deref(),
        Some("okd")
    );
    let again = serde_yaml_ng::to_string(&f).unwrap();
    assert_eq!(StreamFile::parse(&again, "again.yaml").unwrap(), f);
    let layering = os.to_layering("os.yaml").unwrap();
    assert!(layering.has_canonical_modes());
    assert!(layering.layers()[0].uses_owner_names());
    assert!(!layering.layers()[1].uses_owner_names());
}

fn error(yaml: &str) -> String {
    match StreamFile::parse(yaml, "bad.yaml") {
        Err(e) => e.to_string(),
        Ok(f) => f
            .to_builder(Path::new("bad.yaml"))
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string()),
    }
}

const BASE: &str = "name: 4.19.0-0.okd-scos\nstore: oci:target/x\nupstream: {image: quay.io/okd/scos-release:4.19.0-okd-scos.1}\n";

#[test]
fn errors_name_the_field() {
    let cases: &[(&str, &str)] = &[
        ("upstreams: {}\n", "upstreams"),
        (
            "gating: {jobs: {e2e: {gate: maybe}}}\n",
            "gating.jobs.e2e.gate",
        ),
        (
            "gating: {jobs: {e2e: {check: images, shell: 'true'}}}\n",
            "gating.jobs.e2e",
        ),
        ("gating: {jobs: {e2e: {}}}\n", "gating.jobs.e2e"),
        (
            "gating: {min_creation_interval: soon}\n",
            "gating.min_creation_interval",
        ),
        (
            "gating: {jobs: {e2e: {shell: 'true', timeout: forever}}}\n",
            "gating.jobs.e2e.timeout",
        ),
        (
            "gating: {max_unready_releases: -1}\n",
            "gating.max_unready_releases",
        ),
        ("version: {scheme: sequence, version: 4.19.0}\n", "version"),
        (
            "version: {scheme: sequence, version: '4.19', label: okd-scos}\n",
            "version",
        ),
        ("promotions: [{name: next}]\n", "promotions[0]"),
        (
            "os: {variant: scos, layers: [{dir: a, tarball: b}]}\n",
            "os.layers[0]",
        ),
        (
            "os: {variant: scos, layers: [{files: [{path: a, content: b, mode: '9'}]}]}\n",
            "os.layers[0].files[0].mode",
        ),
        ("os: {variant: custom}\n", "os.custom_variant"),
        ("os: {variant: plan9}\n", "os.variant"),
        ("overrides: [cli]\n", "overrides[0]"),
        ("mirror: {to: x, naming: sideways}\n", "mirror.naming"),
    ];
    for (extra, field) in cases {
        let e = error(&format!("{BASE}{extra}"));
        assert!(
            e.contains(field),
            "{extra:?}: expected the error to name {field}, got: {e}"
        );
    }
    let e = error("name: x\nstore: oci:y\nupstream: {image: a:b, repository: c, tags: d}\n");
    assert!(e.contains("upstream"), "{e}");
    let e = error("name: x\nstore: oci:y\n");
    assert!(e.contains("upstream"), "{e}");
    let e = error("name: [x\n");
    assert!(e.contains("bad.yaml") && e.contains("line"), "{e}");
}

#[tokio::test]
async fn builder_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    for (yaml, field) in [
        (
            format!("{BASE}store: quay.io/x\n").replace("store: oci:target/x\n", ""),
            "store",
        ),
        (format!("{BASE}namespace: 'Not A Repo'\n"), "namespace"),
    ] {
        let f = StreamFile::parse(&yaml, &file).unwrap();
        let e = f.to_builder(&file).unwrap().build().await.unwrap_err();
        assert!(matches!(e, StreamError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
}
