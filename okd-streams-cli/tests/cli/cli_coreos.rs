//! `okd-streams coreos …`: layering and inspecting testkit OS images in a layout (read back by
//! skopeo), and look-ups in real stream metadata.

use crate::cli_common;

use std::path::Path;

use cli_common::{Run, layout_payload, okd, tool};
use serde_json::Value;
use testkit::payload::PayloadSpec;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cli")
        .join(name)
        .display()
        .to_string()
}

/// `coreos layer FLAGS --from FROM --add ADD --to TO`.
fn layer_add(flags: &[&str], from: &str, add: &str, to: &str) -> Run {
    let mut args = vec!["coreos", "layer"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--from", from, "--add", add, "--to", to]);
    okd(args)
}

/// `coreos layer` of `base` with the overlay directory under /etc, the unit, a label and the
/// machine-os version, to `to`; returns what it prints.
fn layer_overlay(base: &str, overlay: &Path, unit: &Path, to: &str) -> String {
    okd([
        "coreos",
        "layer",
        "--from",
        base,
        "--add",
        &format!("{}:/etc", overlay.display()),
        "--add",
        &format!(
            "{}:/usr/lib/systemd/system/okd-hello.service",
            unit.display()
        ),
        "--label",
        "io.openshift.release.operator=true",
        "--machine-os",
        "9.0.20250601-0",
        "--variant",
        "scos",
        "--to",
        to,
    ])
    .ok()
}

#[tokio::test]
async fn layer_and_inspect_an_os_image_in_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _store, p) = layout_payload(dir.path(), PayloadSpec::new().components(12)).await;
    let os = p.component("stream-coreos").unwrap();
    let base = format!("oci:{}:okd/scos-content:stream-coreos", layout.display());

    let overlay = dir.path().join("overlay");
    std::fs::create_dir_all(overlay.join("NetworkManager/conf.d")).unwrap();
    std::fs::write(
        overlay.join("NetworkManager/conf.d/99-okd.conf"),
        "[main]\ndhcp=dhclient\n",
    )
    .unwrap();
    let unit = dir.path().join("okd-hello.service");
    std::fs::write(&unit, "[Unit]\nDescription=hello\n").unwrap();

    let to = format!("oci:{}:node", layout.display());
    let out = layer_overlay(&base, &overlay, &unit, &to);
    let digest = out.split_whitespace().next().unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{out}");

    // An independent reader sees the image we wrote.
    let inspected: Value = serde_json::from_str(&tool("skopeo", &["inspect", &to])).unwrap();
    assert_eq!(inspected["Digest"], digest.as_str());
    let labels = &inspected["Labels"];
    assert_eq!(
        labels["io.openshift.build.versions"],
        "machine-os=9.0.20250601-0"
    );
    assert_eq!(
        labels["io.openshift.build.version-display-names"],
        "machine-os=CentOS Stream CoreOS"
    );
    assert_eq!(labels["io.openshift.release.operator"], "true");
    assert_eq!(
        labels["ostree.final-diffid"],
        os.labels["ostree.final-diffid"].as_str()
    );
    let layers: Vec<&str> = inspected["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(layers.len(), os.layers.len() + 2);
    for (ours, base) in layers.iter().zip(&os.layers) {
        assert_eq!(
            *ours,
            base.digest.to_string(),
            "base layers are kept as they are"
        );
    }

    let doc = okd(["coreos", "inspect", "-o", "json", &to]).json();
    assert_eq!(doc["digest"], digest.as_str());
    assert_eq!(doc["osImage"], true);
    assert_eq!(doc["derived"], true);
    assert_eq!(doc["machineOs"]["version"], "9.0.20250601-0");
    assert_eq!(doc["variant"], "scos");
    let roles: Vec<&str> = doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "derived").count(),
        3,
        "{roles:?}"
    );
    assert_eq!(roles[0], "ostree-commit");

    let text = okd(["coreos", "inspect", &base]).ok();
    assert!(text.contains("OS image:     yes"), "{text}");
    assert!(
        text.contains(&format!(
            "Machine OS:   {} CentOS Stream CoreOS",
            p.os_version().unwrap()
        )),
        "{text}"
    );

    // The same inputs give the same digest.
    let again = layer_overlay(
        &base,
        &overlay,
        &unit,
        &format!("oci:{}:node-again", layout.display()),
    );
    assert_eq!(again.split_whitespace().next(), Some(digest.as_str()));

    // A base that is not an OS image is refused unless forced.
    let cvo = format!(
        "oci:{}:okd/scos-content:cluster-version-operator",
        layout.display()
    );
    let overlay_dir = overlay.display().to_string();
    let e = layer_add(
        &[],
        &cvo,
        &overlay_dir,
        &format!("oci:{}:not-os", layout.display()),
    )
    .fails();
    assert!(e.contains("ostree.bootable"), "{e}");
    // A failed command leaves no new layout behind.
    let fresh = dir.path().join("fresh");
    let e = layer_add(
        &[],
        &cvo,
        &overlay_dir,
        &format!("oci:{}:node", fresh.display()),
    )
    .fails();
    assert!(e.contains("ostree.bootable"), "{e}");
    assert!(!fresh.exists());
    layer_add(
        &["--force"],
        &cvo,
        &overlay_dir,
        &format!("oci:{}:not-os", layout.display()),
    )
    .ok();

    let e = layer_add(
        &[],
        &base,
        &dir.path().join("missing").display().to_string(),
        &to,
    )
    .fails();
    assert!(e.contains("missing"), "{e}");
}

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(data(name)).unwrap()).unwrap()
}

#[test]
fn stream_metadata_look_ups_on_real_streams() {
    let fcos = sample("fcos-stable-stream.trimmed.json");
    let pxe = &fcos["architectures"]["x86_64"]["artifacts"]["metal"]["formats"]["pxe"];
    let expected: String = ["kernel", "initramfs", "rootfs"]
        .iter()
        .map(|f| {
            format!(
                "{} {}\n",
                pxe[f]["location"].as_str().unwrap(),
                pxe[f]["sha256"].as_str().unwrap()
            )
        })
        .collect();
    let file = data("fcos-stable-stream.trimmed.json");
    let out = okd([
        "coreos",
        "stream-metadata",
        &file,
        "--arch",
        "amd64",
        "--platform",
        "metal",
        "--format",
        "pxe",
    ])
    .ok();
    assert_eq!(out, expected);

    // Every disk, kernel, initramfs and rootfs of the document, and nothing else.
    let doc = okd(["coreos", "stream-metadata", "-o", "json", &file]).json();
    let mut expected = 0;
    for arch in fcos["architectures"].as_object().unwrap().values() {
        for platform in arch["artifacts"].as_object().unwrap().values() {
            for format in platform["formats"].as_object().unwrap().values() {
                expected += format.as_object().unwrap().len();
            }
        }
    }
    let artifacts = doc["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), expected);
    assert_eq!(doc["stream"], "stable");
    let iso = artifacts
        .iter()
        .find(|a| a["architecture"] == "x86_64" && a["platform"] == "metal" && a["format"] == "iso")
        .unwrap();
    assert_eq!(
        iso["location"],
        fcos["architectures"]["x86_64"]["artifacts"]["metal"]["formats"]["iso"]["disk"]["location"]
    );
    assert!(iso["signature"].as_str().unwrap().ends_with(".sig"));

    let scos = sample("scos-c10s-stream.trimmed.json");
    let file = data("scos-c10s-stream.trimmed.json");
    let out = okd([
        "coreos",
        "stream-metadata",
        &file,
        "--arch",
        "x86_64",
        "--platform",
        "metal",
        "--format",
        "iso",
    ])
    .ok();
    let iso = &scos["architectures"]["x86_64"]["artifacts"]["metal"]["formats"]["iso"]["disk"];
    assert_eq!(
        out,
        format!(
            "{} {}\n",
            iso["location"].as_str().unwrap(),
            iso["sha256"].as_str().unwrap()
        )
    );

    let e = okd([
        "coreos",
        "stream-metadata",
        &file,
        "--arch",
        "x86_64",
        "--platform",
        "no-such-cloud",
    ])
    .fails();
    assert!(e.contains("no-such-cloud"), "{e}");
    let e = okd([
        "coreos",
        "stream-metadata",
        &data("release-okd-scos-4.19.json"),
    ])
    .fails();
    assert!(e.contains("release-okd-scos-4.19.json"), "{e}");
}

#[tokio::test]
async fn layer_warns_and_refuses_what_the_node_would_lose_and_lint_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _store, _p) = layout_payload(dir.path(), PayloadSpec::new().components(12)).await;
    let base = format!("oci:{}:okd/scos-content:stream-coreos", layout.display());
    let seed = dir.path().join("seed");
    std::fs::write(&seed, "x").unwrap();
    let seed_arg = |dest: &str| format!("{}:{dest}", seed.display());

    // Dropped by the node's import: refused, nothing written.
    let e = layer_add(
        &[],
        &base,
        &seed_arg("/srv/seed"),
        &format!("oci:{}:srv", layout.display()),
    )
    .fails();
    assert!(e.contains("error[outside-usr-etc-var] /srv/seed"), "{e}");

    // /var content reaches new installs only: written, with the warning on stderr.
    let to = format!("oci:{}:var", layout.display());
    let run = layer_add(&[], &base, &seed_arg("/var/lib/okd/seed"), &to);
    let err = run.stderr();
    run.ok();
    assert!(
        err.contains("warning[var-content] /var/lib/okd/seed"),
        "{err}"
    );

    let report = okd(["coreos", "lint", &to]).ok();
    assert!(
        report.contains("warning[var-content] /var/lib/okd/seed"),
        "{report}"
    );
    assert!(report.contains("0 error(s), 1 warning(s)"), "{report}");
    let report = okd(["coreos", "lint", &to, "--base", &base]).ok();
    assert!(
        report.contains("1 added layer(s): 0 error(s), 1 warning(s)"),
        "{report}"
    );
}

#[tokio::test]
async fn layer_enables_units_removes_base_paths_and_writes_the_machine_config() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _store, _p) = layout_payload(dir.path(), PayloadSpec::new().components(12)).await;
    let base = format!("oci:{}:okd/scos-content:stream-coreos", layout.display());
    let unit = dir.path().join("okd-hello.service");
    std::fs::write(&unit, "[Unit]\nDescription=hello\n").unwrap();
    let node_unit = dir.path().join("okd-tune.service");
    std::fs::write(&node_unit, "[Service]\nExecStart=/usr/bin/true\n").unwrap();
    let mc_dir = dir.path().join("machine-configs");
    let to = format!("oci:{}:units", layout.display());
    let unit_add = format!(
        "{}:/usr/lib/systemd/system/okd-hello.service",
        unit.display()
    );
    let node_unit_arg = node_unit.display().to_string();
    let mc_arg = mc_dir.display().to_string();
    let flags = [
        "--enable",
        "okd-hello.service:multi-user.target",
        "--remove",
        "/usr/bin/kubelet",
        "--karg",
        "mitigations=off",
        "--node-unit",
        &node_unit_arg,
        "--pool",
        "infra",
        "--machine-config-dir",
        &mc_arg,
    ];
    let run = layer_add(&flags, &base, &unit_add, &to);
    let err = run.stderr();
    run.ok();
    assert!(
        err.contains("wrote MachineConfig 99-infra-okd-streams-os"),
        "{err}"
    );
    // The kubelet comes from the node layer on top of the base's package chunks, which no
    // `ostree.components` annotation names: nothing to warn about.
    assert!(!err.contains("rpm-owned"), "{err}");

    // GNU tar reads the last layer: the .wants link and the whiteout.
    let manifest: Value =
        serde_json::from_str(&tool("skopeo", &["inspect", "--raw", &to])).unwrap();
    let last = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = layout.join("blobs/sha256").join(last).display().to_string();
    let listing = tool("tar", &["-tvzf", &blob]);
    assert!(
        listing.contains(
            "usr/lib/systemd/system/multi-user.target.wants/okd-hello.service -> /usr/lib/systemd/system/okd-hello.service"
        ),
        "{listing}"
    );
    assert!(listing.contains("usr/bin/.wh.kubelet"), "{listing}");
    // `coreos lint` accepts the whiteout the removal wrote.
    let report = okd(["coreos", "lint", &to]).ok();
    assert!(report.contains("0 error(s)"), "{report}");

    let mc: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(mc_dir.join("99-infra-okd-streams-os.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(mc["kind"], "MachineConfig");
    assert_eq!(
        mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"],
        "infra"
    );
    assert_eq!(mc["spec"]["kernelArguments"][0], "mitigations=off");
    let units = &mc["spec"]["config"]["systemd"]["units"];
    assert_eq!(units[0]["name"], "okd-tune.service");
    assert_eq!(units[0]["enabled"], true);
    assert_eq!(units[0]["contents"], "[Service]\nExecStart=/usr/bin/true\n");

    // A unit found nowhere is refused, naming it.
    let e = layer_add(
        &["--enable", "okd-missing.service:multi-user.target"],
        &base,
        &unit_add,
        &format!("oci:{}:missing", layout.display()),
    )
    .fails();
    assert!(e.contains("okd-missing.service"), "{e}");
}
