//! Release images someone added layers to with another tool (`umoci insert`, as `oc image
//! append` adds one): `release info` still reads them, `release extract` reads every layer top
//! first, and a payload naming a component by tag loads with a warning.

use std::path::Path;

use crate::cli_common::{RegistryPayload, image_rows, registry_payload, tool};
use testkit::payload::PayloadSpec;

/// Copies the testkit release to a layout with skopeo, adds one layer per `(source, target)`
/// with `umoci insert`, and pushes the result to `to` (`REPO:TAG` in the registry).
fn append_layers(r: &RegistryPayload, work: &Path, inserts: &[(&Path, &str)], to: &str) -> String {
    let layout = format!("oci:{}:rel", work.join("layout").display());
    tool(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{}", r.release_ref()),
            &layout,
        ],
    );
    let image = format!("{}:rel", work.join("layout").display());
    for (source, target) in inserts {
        tool(
            "umoci",
            &[
                "insert",
                "--image",
                &image,
                &source.display().to_string(),
                target,
            ],
        );
    }
    let dest = r.at(to);
    tool(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            &layout,
            &format!("docker://{dest}"),
        ],
    );
    dest
}

#[tokio::test]
async fn a_release_with_an_appended_ca_bundle_still_loads() {
    let r = registry_payload(PayloadSpec::new().components(30)).await;
    let work = tempfile::tempdir().unwrap();
    let ca = work.path().join("extra-ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let with_ca = append_layers(
        &r,
        work.path(),
        &[(&ca, "/etc/pki/ca-trust/source/anchors/extra-ca.pem")],
        "okd/ca-release:1",
    );
    let raw: serde_json::Value = serde_json::from_str(&tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{with_ca}"),
        ],
    ))
    .unwrap();
    let plain = r.okd(&["release", "info", &r.release_ref()]).ok();
    let layers = raw["layers"].as_array().unwrap().len();
    assert!(layers >= 2, "{raw}");

    let info = r.okd(&["release", "info", &with_ca]).ok();
    assert!(
        info.starts_with(&format!("Name:      {}\n", r.payload.version)),
        "{info}"
    );
    assert_eq!(image_rows(&info), image_rows(&plain));
    let manifests = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Manifests:"))
            .map(str::to_string)
    };
    assert_eq!(manifests(&info), manifests(&plain));
    assert!(
        info.contains("layers were added above the release layer"),
        "the release says where its payload was read: {info}"
    );
    // Extraction gives the release's files, and the CA bundle is no release file.
    let out = work.path().join("out");
    r.okd(&[
        "release",
        "extract",
        &with_ca,
        "--to",
        &out.display().to_string(),
    ])
    .ok();
    for f in &r.payload.release_files {
        assert_eq!(
            std::fs::read(out.join(&f.name)).unwrap(),
            f.content.as_bytes(),
            "{}",
            f.name
        );
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        r.payload.release_files.len()
    );
}

#[tokio::test]
async fn extract_reads_every_layer_top_first_and_file_prints_one() {
    let r = registry_payload(PayloadSpec::new().components(30)).await;
    let work = tempfile::tempdir().unwrap();
    let replaced = r
        .payload
        .release_files
        .iter()
        .find(|f| f.name.ends_with(".yaml"))
        .unwrap();
    let upper = work.path().join("upper");
    std::fs::create_dir(&upper).unwrap();
    let new_text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: replaced\n";
    std::fs::write(upper.join(&replaced.name), new_text).unwrap();
    let extra = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-ca\n";
    std::fs::write(upper.join("0000_99_extra-ca_configmap.yaml"), extra).unwrap();
    let image = append_layers(
        &r,
        work.path(),
        &[(&upper, "/release-manifests")],
        "okd/appended:1",
    );

    let out = work.path().join("out");
    r.okd(&[
        "release",
        "extract",
        &image,
        "--to",
        &out.display().to_string(),
    ])
    .ok();
    // The higher layer wins; every other file comes from the release layer below it.
    assert_eq!(
        std::fs::read_to_string(out.join(&replaced.name)).unwrap(),
        new_text
    );
    assert_eq!(
        std::fs::read_to_string(out.join("0000_99_extra-ca_configmap.yaml")).unwrap(),
        extra
    );
    for f in r
        .payload
        .release_files
        .iter()
        .filter(|f| f.name != replaced.name)
    {
        assert_eq!(
            std::fs::read(out.join(&f.name)).unwrap(),
            f.content.as_bytes(),
            "{}",
            f.name
        );
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        r.payload.release_files.len() + 1
    );

    // --file prints one file, from the highest layer holding it.
    let one = |name: &str| r.okd(&["release", "extract", &image, "--file", name]);
    assert_eq!(one(&replaced.name).ok(), new_text);
    let refs = r.payload.release_file("image-references").unwrap();
    assert_eq!(one("image-references").ok(), refs.content);
    let e = one("no-such-file.yaml").fails();
    assert!(
        e.contains("does not contain release-manifests/no-such-file.yaml"),
        "{e}"
    );
}

#[tokio::test]
async fn a_component_named_by_tag_loads_with_a_warning() {
    let r = registry_payload(PayloadSpec::new().components(30)).await;
    let work = tempfile::tempdir().unwrap();
    let refs = &r.payload.release_file("image-references").unwrap().content;
    let cli = r.payload.component("cli").unwrap();
    let by_tag = format!("{}/okd/scos-content:cli", r.host);
    assert!(refs.contains(&cli.pullspec));
    let upper = work.path().join("upper");
    std::fs::create_dir(&upper).unwrap();
    std::fs::write(
        upper.join("image-references"),
        refs.replace(&cli.pullspec, &by_tag),
    )
    .unwrap();
    let image = append_layers(
        &r,
        work.path(),
        &[(&upper, "/release-manifests")],
        "okd/by-tag:1",
    );

    let info = r.okd(&["release", "info", &image]).ok();
    assert!(
        info.contains(&format!(
            "* tag \"cli\" does not point to a digest: {by_tag}"
        )),
        "{info}"
    );
    // As in `oc`, the image table shows the pullspec where there is no digest.
    let rows = image_rows(&info);
    assert!(
        rows.contains(&("cli".to_string(), by_tag.clone())),
        "{rows:?}"
    );
    let json = r.okd(&["release", "info", "-o", "json", &image]).json();
    let warnings = json["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("\"cli\" does not point to a digest")),
        "{json}"
    );

    // One line per digest; the tag without one is said on stderr.
    let digests = r.okd(&["release", "info", "-o", "digest", &image]);
    let lines = digests.ok();
    assert_eq!(lines.lines().count(), r.payload.components.len() - 1);
    assert!(
        digests
            .stderr()
            .contains("warning: cli does not point to a digest"),
        "{}",
        digests.stderr()
    );
}
