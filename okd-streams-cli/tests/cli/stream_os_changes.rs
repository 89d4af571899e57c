//! A stream whose OS block enables a unit and names kernel arguments and node units: the round
//! writes the MachineConfig next to the release and into its payload; a layer the lint refuses
//! stops the round before anything is pushed, and lint warnings are kept in the stream's record.

use std::path::Path;

use crate::common;
use serde_json::Value;

const LAYER_LINE: &str = "  layers:\n    - files:\n        - { path: etc/okd-demo/release, content: \"layered by okd-streams\\n\" }\n";

/// The common stream file with the OS block's layer lines replaced by `os_lines`.
fn stream_with(dir: &Path, os_lines: &str) -> String {
    let text = common::stream_file(dir, &format!("oci:{}/store", dir.display()));
    assert!(text.contains(LAYER_LINE), "{text}");
    let text = text.replace(LAYER_LINE, os_lines);
    let file = dir.join("stream.yaml");
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_writes_the_machine_config_next_to_the_release_and_into_its_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let file = stream_with(
        dir,
        r#"  layers:
    - files:
        - { path: usr/lib/systemd/system/okd-hello.service, content: "[Unit]\nDescription=hello\n" }
  enable:
    - { unit: okd-hello.service, target: multi-user.target }
  machine_config:
    kernel_arguments: [mitigations=off]
    units:
      - { name: okd-tune.service, enabled: true, contents: "[Service]\nExecStart=/usr/bin/true\n" }
    in_payload: true
"#,
    );
    let run = common::run_ok(&["stream", "run", &file, "--once"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("Accepted"), "{out}");

    // Next to the release, in the state directory.
    let release = "4.19.0-okd-scos.1";
    let written = dir
        .join("state/machine-configs")
        .join(release)
        .join("99-worker-okd-streams-os.yaml");
    let mc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    assert_eq!(mc["apiVersion"], "machineconfiguration.openshift.io/v1");
    assert_eq!(mc["kind"], "MachineConfig");
    assert_eq!(
        mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"],
        "worker"
    );
    assert_eq!(mc["spec"]["kernelArguments"][0], "mitigations=off");
    assert_eq!(mc["spec"]["config"]["ignition"]["version"], "3.2.0");
    assert_eq!(
        mc["spec"]["config"]["systemd"]["units"][0]["name"],
        "okd-tune.service"
    );

    // In the payload, where the CVO of a self-managed cluster includes it.
    let image = format!("oci:{}/store:okd-demo/release:{release}", dir.display());
    let extracted = dir.join("extracted");
    let extracted_arg = extracted.display().to_string();
    common::run_ok(&[
        "release",
        "extract",
        &image,
        "--to",
        &extracted_arg,
        "--included",
    ]);
    let manifest = extracted.join("0000_80_machine-config_99-worker-okd-streams-os.yaml");
    let in_payload: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; extracted: {:?}",
                manifest.display(),
                std::fs::read_dir(&extracted)
                    .map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
            )
        }))
        .unwrap();
    assert_eq!(in_payload["spec"], mc["spec"]);
    assert_eq!(
        in_payload["metadata"]["annotations"]["include.release.openshift.io/self-managed-high-availability"],
        "true"
    );

    // The enabled unit's link is in the OS image.
    let os = format!(
        "oci:{}/store:okd-demo/stream-coreos:{release}",
        dir.display()
    );
    let raw: Value = serde_json::from_str(&crate::cli_common::tool(
        "skopeo",
        &["inspect", "--raw", &os],
    ))
    .unwrap();
    let last = raw["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = dir
        .join("store/blobs/sha256")
        .join(last)
        .display()
        .to_string();
    let listing = crate::cli_common::tool("tar", &["-tvzf", &blob]);
    assert!(
        listing.contains(
            "usr/lib/systemd/system/multi-user.target.wants/okd-hello.service -> /usr/lib/systemd/system/okd-hello.service"
        ),
        "{listing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_the_lint_refuses_stops_the_round_and_pushes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let file = stream_with(
        dir,
        "  layers:\n    - files:\n        - { path: srv/okd/seed, content: \"x\\n\" }\n",
    );
    let out = common::cli()
        .args(["stream", "run", &file, "--once"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("error[outside-usr-etc-var] /srv/okd/seed"),
        "{all}"
    );
    assert!(!all.contains("Accepted"), "{all}");
    // Nothing pushed: no OS image, no release in the store.
    let index = std::fs::read_to_string(dir.join("store/index.json")).unwrap_or_default();
    assert!(!index.contains("4.19.0-okd-scos.1"), "{index}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lint_warnings_are_printed_and_kept_in_the_stream_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let file = stream_with(
        dir,
        "  layers:\n    - files:\n        - { path: var/lib/okd/seed, content: \"x\\n\" }\n",
    );
    let run = common::run_ok(&["stream", "run", &file, "--once"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("Accepted"), "{out}");
    assert!(
        out.contains("os lint    warning[var-content] /var/lib/okd/seed"),
        "{out}"
    );
    let kept: Vec<String> = std::fs::read_dir(dir.join("state"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|text| text.contains("warning[var-content] /var/lib/okd/seed"))
        .collect();
    assert!(!kept.is_empty(), "the warning is in the stream's record");
}
