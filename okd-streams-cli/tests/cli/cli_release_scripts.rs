//! What scripts ported from `oc adm release` rely on: `info --image-for`,
//! `-o name|digest|pullspec|json|jsonpath=…`, comma-separated `--exclude`/`--include`,
//! `new --mapping-file`, `--to-file` and `--dry-run`, and overrides never dropped silently.

use crate::cli_common;

use cli_common::registry_payload;
use okd_oci::ManifestRef;
use okd_release::Release;
use testkit::payload::PayloadSpec;

#[tokio::test]
async fn info_prints_single_images_and_one_line_per_tag() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let release = r.release_ref();
    let cli = p.component("cli").unwrap();
    let out = r
        .okd(&["release", "info", "--image-for", "cli", &release])
        .ok();
    assert_eq!(out, format!("{}\n", cli.pullspec));
    let err = r
        .okd(&["release", "info", "--image-for", "no-such-tag", &release])
        .fails();
    assert!(
        err.contains(&format!(
            "no image tag \"no-such-tag\" exists in the release image {release}"
        )),
        "{err}"
    );

    let lines = |format: &str| -> Vec<String> {
        r.okd(&["release", "info", "-o", format, &release])
            .ok()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let built = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag(p.version.clone()),
    )
    .await
    .unwrap();
    let tags = built.references.tags();
    assert_eq!(
        lines("name"),
        tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        lines("pullspec"),
        tags.iter()
            .map(|t| t.pullspec().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        lines("digest"),
        tags.iter()
            .map(|t| p.component(&t.name).unwrap().digest.to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn exclude_and_include_split_on_commas() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let from = r.release_ref();
    // Two operators left out with one flag, as `oc` reads `--exclude a,b`.
    let ops: Vec<&str> = p.operator_names().into_iter().take(2).collect();
    let both = ops.join(",");
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.7",
        "--exclude",
        &both,
        "--to-image",
        &r.at("okd/scripts-release"),
    ])
    .ok();
    let built = Release::load(
        &r.store,
        "okd/scripts-release",
        &ManifestRef::Tag("4.19.0-okd-scos.7".into()),
    )
    .await
    .unwrap();
    for op in &ops {
        assert!(built.references.tag(op).is_none(), "{op} was not excluded");
    }
    assert!(!built.references.tags().is_empty());

    // Tags no operator needs are pruned unless included; `--include a,b` keeps both.
    let plain = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag(p.version.clone()),
    )
    .await
    .unwrap();
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.8",
        "--to-image",
        &r.at("okd/scripts-release"),
    ])
    .ok();
    let pruned_build = Release::load(
        &r.store,
        "okd/scripts-release",
        &ManifestRef::Tag("4.19.0-okd-scos.8".into()),
    )
    .await
    .unwrap();
    let pruned: Vec<String> = plain
        .references
        .tags()
        .iter()
        .map(|t| t.name.clone())
        .filter(|n| pruned_build.references.tag(n).is_none())
        .take(2)
        .collect();
    assert_eq!(
        pruned.len(),
        2,
        "the payload has fewer than two prunable tags"
    );
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.9",
        "--include",
        &pruned.join(","),
        "--to-image",
        &r.at("okd/scripts-release"),
    ])
    .ok();
    let kept = Release::load(
        &r.store,
        "okd/scripts-release",
        &ManifestRef::Tag("4.19.0-okd-scos.9".into()),
    )
    .await
    .unwrap();
    for tag in &pruned {
        assert!(kept.references.tag(tag).is_some(), "{tag} was not kept");
    }
}

/// Every file under `dir` with its size: what a registry's storage holds.
fn tree(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                todo.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, m.len()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn mapping_files_override_and_name_their_bad_lines() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let dir = tempfile::tempdir().unwrap();
    let hyperkube = &p.component("hyperkube").unwrap().pullspec;
    let tests = &p.component(p.component_names()[0]).unwrap().pullspec;
    let good = dir.path().join("good.txt");
    std::fs::write(
        &good,
        format!("# the OS image is hyperkube's for this test\n\nstream-coreos={hyperkube}   # trailing comment\n  cli={tests}\n"),
    )
    .unwrap();
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &r.release_ref(),
        "--name",
        "4.19.0-okd-scos.11",
        "--include-all",
        "--mapping-file",
        &good.display().to_string(),
        "--to-image",
        &r.at("okd/mapped-release"),
    ])
    .ok();
    let built = Release::load(
        &r.store,
        "okd/mapped-release",
        &ManifestRef::Tag("4.19.0-okd-scos.11".into()),
    )
    .await
    .unwrap();
    for (tag, pullspec) in [("stream-coreos", hyperkube), ("cli", tests)] {
        let t = built.references.tag(tag).unwrap();
        assert_eq!(t.pullspec(), Some(pullspec.as_str()), "{tag}");
        assert_eq!(t.annotation("io.openshift.release.override"), Some("true"));
    }

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, format!("cli={tests}\n# fine\nstream-coreos\n")).unwrap();
    let e = r
        .okd(&[
            "release",
            "new",
            "--from-release",
            &r.release_ref(),
            "--mapping-file",
            &bad.display().to_string(),
            "--to-image",
            &r.at("okd/never"),
        ])
        .fails();
    assert!(
        e.contains(&format!(
            "mapping file {}, line 3: \"stream-coreos\" is not a SRC=DST mapping",
            bad.display()
        )),
        "{e}"
    );
}

#[tokio::test]
async fn info_json_is_ocs_document_and_jsonpath_reads_it() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let release = r.release_ref();
    let out = r.okd(&["release", "info", "-o", "json", &release]).ok();
    // oc's keys, in oc's order, at the top level.
    let keys = [
        "image",
        "digest",
        "contentDigest",
        "listDigest",
        "config",
        "metadata",
        "references",
        "versions",
        "displayVersions",
        "versionsTags",
        "images",
        "warnings",
    ];
    let at: Vec<usize> = keys
        .iter()
        .map(|k| {
            out.find(&format!("\n  \"{k}\": "))
                .unwrap_or_else(|| panic!("{k}: {out}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
    // image-references as oc nests it: the document's bytes, indented one level.
    let refs = &p.release_file("image-references").unwrap().content;
    assert!(
        out.contains(&format!(
            "\n  \"references\": {},\n",
            refs.replace('\n', "\n  ")
        )),
        "{out}"
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let digest = p.release_digest().to_string();
    assert_eq!(doc["image"], release.as_str());
    assert_eq!(doc["digest"], digest.as_str());
    assert_eq!(doc["contentDigest"], digest.as_str());
    assert_eq!(doc["listDigest"], "");
    assert_eq!(
        doc["config"]["config"]["Labels"]["io.openshift.release"],
        p.version.as_str()
    );
    assert_eq!(
        doc["config"]["history"][0]["comment"],
        "Release image for OpenShift"
    );
    let metadata: serde_json::Value =
        serde_json::from_str(&p.release_file("release-metadata").unwrap().content).unwrap();
    assert_eq!(doc["metadata"], metadata);
    assert_eq!(
        doc["displayVersions"]["machine-os"]["Version"].as_str(),
        p.os_version()
    );
    assert!(
        doc["versions"].is_null() && doc["images"].is_null(),
        "{doc}"
    );

    // okd-streams' own document is still there, under another name.
    let own = r
        .okd(&["release", "info", "-o", "okd-json", &release])
        .json();
    assert_eq!(own["name"], p.version.as_str());
    assert_eq!(own["images"].as_array().unwrap().len(), p.components.len());

    let jsonpath = |t: &str| {
        r.okd(&["release", "info", "-o", &format!("jsonpath={t}"), &release])
            .ok()
    };
    assert_eq!(jsonpath("{.digest}"), digest);
    let cli = &p.component("cli").unwrap().pullspec;
    assert_eq!(
        jsonpath(r#"{.references.spec.tags[?(@.name=="cli")].from.name}"#),
        *cli
    );
    let names = r.okd(&["release", "info", "-o", "name", &release]).ok();
    assert_eq!(
        jsonpath(r#"{range .references.spec.tags[*]}{.name}{"\n"}{end}"#),
        names
    );
    assert_eq!(
        jsonpath("{.metadata.version} {.config.os}/{.config.architecture}"),
        format!("{} linux/amd64", p.version)
    );

    let bad = r.okd(&["release", "info", "-o", "jsonpath={.digest", &release]);
    assert!(!bad.output.status.success());
    assert!(
        bad.stderr().contains("invalid jsonpath template"),
        "{}",
        bad.stderr()
    );
    let bad = r.okd(&["release", "info", "-o", "yaml", &release]);
    assert!(!bad.output.status.success());
    assert!(
        bad.stderr().contains("jsonpath=TEMPLATE"),
        "{}",
        bad.stderr()
    );
}

#[tokio::test]
async fn to_file_writes_the_release_layer_and_dry_run_pushes_nothing() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let dir = tempfile::tempdir().unwrap();
    let created = "2025-06-01T12:00:00Z";
    let from = r.release_ref();
    let new = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "release",
            "new",
            "--from-release",
            &from,
            "--name",
            name,
            "--created",
            created,
        ];
        args.extend_from_slice(extra);
        r.okd(&args)
    };
    let file = dir.path().join("release.tar.gz");
    let wrote = new(
        "4.19.0-okd-scos.12",
        &["--to-file", &file.display().to_string()],
    );
    assert!(wrote.ok().is_empty(), "nothing on stdout but the layer");
    assert!(
        wrote.stderr().contains("wrote the release layer"),
        "{}",
        wrote.stderr()
    );
    // The same build as an image has exactly this file as its release layer.
    new(
        "4.19.0-okd-scos.12",
        &["--to-image", &r.at("okd/file-release")],
    )
    .ok();
    let built = Release::load(
        &r.store,
        "okd/file-release",
        &ManifestRef::Tag("4.19.0-okd-scos.12".into()),
    )
    .await
    .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(okd_oci::Digest::sha256_of(&bytes), built.layer_digest);
    let listing = cli_common::tool("tar", &["-tzf", &file.display().to_string()]);
    let names: Vec<&str> = listing.lines().map(|l| l.trim_end_matches('/')).collect();
    assert_eq!(
        &names[..3],
        [
            "release-manifests",
            "release-manifests/image-references",
            "release-manifests/release-metadata"
        ]
    );
    assert_eq!(
        names.len(),
        built.manifests.len() + built.other_files.len() + 3
    );
    let mtime: chrono::DateTime<chrono::Utc> =
        std::fs::metadata(&file).unwrap().modified().unwrap().into();
    assert_eq!(
        mtime.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        created
    );

    // A dry run with a content mirror computes the digest and writes nothing anywhere.
    let storage = r.registry.dir().join("storage");
    let before = tree(&storage);
    let dry = new(
        "4.19.0-okd-scos.13",
        &[
            "--mirror",
            &r.at("okd/dry-content"),
            "--to-image",
            &r.at("okd/dry-release"),
            "--dry-run",
        ],
    );
    let summary = dry.ok();
    assert!(
        summary.starts_with("sha256:") && summary.contains(" 4.19.0-okd-scos.13 "),
        "{summary}"
    );
    let err = dry.stderr();
    assert!(err.contains("dry run: would mirror"), "{err}");
    assert!(
        err.contains(&format!(
            "dry run: would write {}",
            r.at("okd/dry-release:4.19.0-okd-scos.13")
        )),
        "{err}"
    );
    assert_eq!(tree(&storage), before, "the registry changed in a dry run");
    let missing = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            &format!("docker://{}", r.at("okd/dry-release:4.19.0-okd-scos.13")),
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    // Pushing the same build for real gives the digest the dry run printed.
    let real = new(
        "4.19.0-okd-scos.13",
        &[
            "--mirror",
            &r.at("okd/dry-content"),
            "--to-image",
            &r.at("okd/real-release"),
        ],
    )
    .ok();
    assert_eq!(
        real.split_whitespace().next(),
        summary.split_whitespace().next()
    );
}

#[tokio::test]
async fn an_override_pruning_would_drop_is_refused_and_kept_when_included() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let from = r.release_ref();
    // A tag a plain rebuild prunes: no operator refers to it.
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.14",
        "--to-image",
        &r.at("okd/pruned"),
    ])
    .ok();
    let rebuilt = Release::load(
        &r.store,
        "okd/pruned",
        &ManifestRef::Tag("4.19.0-okd-scos.14".into()),
    )
    .await
    .unwrap();
    let tag = p
        .component_names()
        .into_iter()
        .find(|n| rebuilt.references.tag(n).is_none())
        .expect("the payload has a prunable tag")
        .to_string();
    let pullspec = &p.component("hyperkube").unwrap().pullspec;
    let pair = format!("{tag}={pullspec}");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "release",
            "new",
            "--from-release",
            from.as_str(),
            "--name",
            "4.19.0-okd-scos.15",
        ];
        a.extend_from_slice(extra);
        a.push(pair.as_str());
        r.okd(&a)
    };
    let target = r.at("okd/override");
    let e = args(&["--to-image", &target]).fails();
    assert!(
        e.contains(&format!("the override {pair} would be dropped"))
            && e.contains(&format!("--include {tag}")),
        "{e}"
    );
    args(&["--include", &tag, "--to-image", &target]).ok();
    let kept = Release::load(
        &r.store,
        "okd/override",
        &ManifestRef::Tag("4.19.0-okd-scos.15".into()),
    )
    .await
    .unwrap();
    assert_eq!(
        kept.references.tag(&tag).unwrap().pullspec(),
        Some(pullspec.as_str())
    );
}
