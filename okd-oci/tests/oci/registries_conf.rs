//! registries.conf files in the containers format (tests/data/registries-conf): parsing, the
//! version 1 conversion, drop-in merging, refused files, and the pull sources of a reference.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::{Path, PathBuf};

use okd_oci::registry::{ConfSearch, PullFromMirror, RegistriesConf};
use okd_oci::{Error, ImageRef, RegistryRef};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/registries-conf")
        .join(name)
}

fn registry_ref(text: &str) -> RegistryRef {
    match text.parse::<ImageRef>().unwrap() {
        ImageRef::Registry(r) => r,
        other => panic!("not a registry reference: {other}"),
    }
}

#[test]
fn the_air_gap_sample_parses_into_entries_and_mirrors() {
    let path = data("airgap.conf");
    let conf = RegistriesConf::read(&path).unwrap();
    assert_eq!(conf.files(), std::slice::from_ref(&path));
    assert_eq!(
        conf.unqualified_search_registries(),
        ["registry.fedoraproject.org", "quay.io"]
    );
    let prefixes: Vec<&str> = conf
        .registries()
        .iter()
        .map(|r| r.prefix.as_str())
        .collect();
    // Sorted by prefix, the duplicate lab.example:8443 entry dropped.
    assert_eq!(
        prefixes,
        [
            "lab.example:8443",
            "legacy.example.com",
            "quay.io/okd",
            "quay.io/openshift-release-dev"
        ]
    );
    let okd = conf.find("quay.io/okd/scos-release").unwrap();
    assert_eq!(okd.file, path);
    assert_eq!(okd.mirrors.len(), 2);
    assert_eq!(okd.mirrors[0].location, "mirror.airgap.example:5000/okd");
    assert!(okd.mirrors[0].insecure);
    assert_eq!(okd.mirrors[0].pull_from_mirror, PullFromMirror::All);
    assert_eq!(okd.mirrors[1].pull_from_mirror, PullFromMirror::DigestOnly);
    assert!(
        conf.find("quay.io/openshift-release-dev/ocp-release")
            .unwrap()
            .mirror_by_digest_only
    );

    // insecure: the location host of an insecure entry, and of an insecure mirror.
    assert!(conf.is_insecure("lab.example:8443"));
    assert!(conf.is_insecure("mirror.airgap.example:5000"));
    assert!(!conf.is_insecure("backup.airgap.example"));
    assert!(!conf.is_insecure("quay.io"));
    // blocked: the whole prefix, at a separator only.
    assert!(conf.blocked("legacy.example.com/a/b:1").is_some());
    assert!(conf.blocked("legacy.example.com").is_some());
    assert!(conf.blocked("legacy.example.community/a").is_none());
    assert!(conf.blocked("quay.io/okd/x").is_none());
}

#[test]
fn mirrors_come_first_by_the_pull_from_mirror_rules() {
    let conf = RegistriesConf::read(&data("airgap.conf")).unwrap();
    let digest = "sha256:".to_string() + &"ab".repeat(32);
    let hosts = |text: &str| -> Vec<(String, bool)> {
        conf.pull_sources(&registry_ref(text))
            .unwrap()
            .into_iter()
            .map(|s| {
                (
                    format!("{}/{}", s.reference.registry, s.reference.repository),
                    s.mirror,
                )
            })
            .collect()
    };
    // By digest: both mirrors, in order, then the primary.
    assert_eq!(
        hosts(&format!("quay.io/okd/scos-release@{digest}")),
        [
            (
                "mirror.airgap.example:5000/okd/scos-release".to_string(),
                true
            ),
            ("backup.airgap.example/okd/scos-release".to_string(), true),
            ("quay.io/okd/scos-release".to_string(), false),
        ]
    );
    // By tag: the digest-only mirror is skipped.
    assert_eq!(
        hosts("quay.io/okd/scos-release:4.19"),
        [
            (
                "mirror.airgap.example:5000/okd/scos-release".to_string(),
                true
            ),
            ("quay.io/okd/scos-release".to_string(), false),
        ]
    );
    // mirror-by-digest-only on the entry: no mirror for a tag.
    assert_eq!(
        hosts("quay.io/openshift-release-dev/ocp-release:4.19.0-x86_64"),
        [(
            "quay.io/openshift-release-dev/ocp-release".to_string(),
            false
        )]
    );
    assert_eq!(
        hosts(&format!(
            "quay.io/openshift-release-dev/ocp-release@{digest}"
        ))
        .len(),
        2
    );
    // The digest survives the rewrite.
    let first = conf
        .pull_sources(&registry_ref(&format!("quay.io/okd/x@{digest}")))
        .unwrap()
        .remove(0);
    assert_eq!(first.reference.digest.unwrap().to_string(), digest);
    assert!(first.insecure);
    // Nothing configured: the reference itself.
    assert_eq!(
        hosts("registry.example/a/b:1"),
        [("registry.example/a/b".to_string(), false)]
    );
}

#[test]
fn version_1_tables_are_converted() {
    let conf = RegistriesConf::read(&data("v1.conf")).unwrap();
    assert_eq!(conf.unqualified_search_registries(), ["quay.io"]);
    assert!(conf.is_insecure("lab.example:8443"));
    assert!(conf.blocked("legacy.example.com/x").is_some());
    assert!(conf.blocked("lab.example:8443/x").is_none());
}

#[test]
fn drop_ins_replace_entries_of_their_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let system_dir = dir.path().join("registries.conf.d");
    std::fs::create_dir(&system_dir).unwrap();
    std::fs::copy(
        data("dropin-override.conf"),
        system_dir.join("50-airgap.conf"),
    )
    .unwrap();
    // Not a .conf file: ignored.
    std::fs::write(system_dir.join("notes.txt"), "not toml [").unwrap();
    let search = ConfSearch {
        system_file: data("airgap.conf"),
        system_dir: system_dir.clone(),
        user_file: Some(dir.path().join("user/registries.conf")),
        user_dir: Some(dir.path().join("user/registries.conf.d")),
    };
    let conf = RegistriesConf::load_from(&search).unwrap();
    let legacy = conf.find("legacy.example.com/x").unwrap();
    assert!(!legacy.blocked && legacy.insecure, "{legacy:?}");
    assert_eq!(legacy.file, system_dir.join("50-airgap.conf"));
    assert_eq!(
        conf.unqualified_search_registries(),
        ["mirror.airgap.example:5000"]
    );
    // Entries the drop-in does not name stay.
    assert_eq!(conf.find("quay.io/okd/x").unwrap().mirrors.len(), 2);
    assert_eq!(conf.files().len(), 2);

    // A per-user file, when present, is read instead of the system file and its drop-ins.
    std::fs::create_dir(dir.path().join("user")).unwrap();
    std::fs::copy(data("v1.conf"), dir.path().join("user/registries.conf")).unwrap();
    let conf = RegistriesConf::load_from(&search).unwrap();
    assert!(conf.blocked("legacy.example.com/x").is_some());
    assert_eq!(conf.files(), [dir.path().join("user/registries.conf")]);

    // No files at all: an empty configuration.
    let empty = ConfSearch {
        system_file: dir.path().join("none.conf"),
        system_dir: dir.path().join("none.d"),
        user_file: None,
        user_dir: None,
    };
    assert_eq!(
        RegistriesConf::load_from(&empty).unwrap(),
        RegistriesConf::default()
    );
}

#[test]
fn an_explicit_file_must_exist_and_is_read_alone() {
    let missing = data("missing.conf");
    let err = RegistriesConf::load(Some(&missing)).unwrap_err();
    assert!(err.to_string().contains("missing.conf"), "{err}");
    let conf = RegistriesConf::load(Some(&data("v1.conf"))).unwrap();
    assert_eq!(conf.files(), [data("v1.conf")]);
}

#[test]
fn invalid_files_are_refused_naming_the_file() {
    let path = data("pull-from-mirror-on-primary.conf");
    let err = RegistriesConf::read(&path).unwrap_err();
    assert!(matches!(err, Error::RegistriesConf { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("pull-from-mirror-on-primary.conf") && text.contains("pull-from-mirror"),
        "{text}"
    );

    let file = Path::new("/etc/containers/registries.conf");
    for (conf, says) in [
        (
            "[[registry]]\nlocation = \"https://quay.io\"\n",
            "URL schemes",
        ),
        ("[[registry]]\nprefix = \"quay.io\"\n", "has no location"),
        (
            "[[registry]]\nlocation = \"q.io\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"sometimes\"\n",
            "\"sometimes\"",
        ),
        (
            "[[registry]]\nlocation = \"q.io\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"all\"\n",
            "set one of them",
        ),
        (
            "[[registry]]\nprefix = \"a\"\nlocation = \"q.io\"\ninsecure = true\n[[registry]]\nprefix = \"b\"\nlocation = \"q.io\"\n",
            "conflicting insecure",
        ),
        (
            "[[registry]]\nprefix = \"*.example.com/ns\"\n",
            "*.example.com",
        ),
        (
            "[registries.block]\nregistries = [\"a\"]\n[[registry]]\nlocation = \"b\"\n",
            "mixes",
        ),
        ("[[registry]\nlocation = 1", "line 1, column 12"),
        ("[[registry]]\nlocation = 1\n", "line 2, column 12"),
    ] {
        let err = RegistriesConf::parse(conf, file).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(says) && text.contains("/etc/containers/registries.conf"),
            "{conf}: {text}"
        );
        // One line, for the command line's one `error:` line.
        assert!(!text.contains('\n'), "{text}");
    }
}
