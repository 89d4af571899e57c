//! `release extract --command|--tools|--credentials-requests` against docker-registry: the
//! release written into test binaries at oc's markers (expected bytes computed here from the
//! marker positions, the digest read with skopeo), the archives checked with `sha256sum -c`,
//! `tar` and Python's `zipfile`, and the CredentialsRequests kept per cloud.

use crate::cli_common;

use std::path::Path;
use std::process::Command;

use cli_common::{RegistryPayload, registry_payload, tool};
use testkit::payload::PayloadSpec;

const VERSION: &str = "4.19.0-okd-scos.1";

/// oc's placeholders, spelled out here rather than taken from the library.
fn placeholder(label: &str, xs: usize) -> Vec<u8> {
    let mut p = vec![0u8];
    p.extend_from_slice(label.as_bytes());
    p.push(0);
    p.extend(std::iter::repeat_n(b'X', xs));
    p.push(0);
    p
}

fn image_marker() -> Vec<u8> {
    placeholder("_RELEASE_IMAGE_LOCATION_", 300)
}
fn version_marker() -> Vec<u8> {
    placeholder("_RELEASE_VERSION_LOCATION_", 64)
}
fn arch_marker() -> Vec<u8> {
    placeholder("_RELEASE_ARCHITECTURE_LOCATION_", 64)
}

/// A test installer of about 200 KiB: the image marker across the 64 KiB boundary, the version
/// and architecture markers later, and a second image marker that must stay as it is.
fn installer_binary() -> Vec<u8> {
    let filler = |n: usize, seed: u8| -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
            .collect()
    };
    let mut b = b"\x7fELF\x02\x01\x01".to_vec();
    b.extend(filler(65_536 - 100 - b.len(), 3));
    b.extend(image_marker());
    b.extend(filler(70_000, 5));
    b.extend(version_marker());
    b.extend(filler(1_000, 7));
    b.extend(arch_marker());
    b.extend(filler(40_000, 9));
    b.extend(image_marker());
    b.extend(filler(123, 11));
    b
}

/// What oc writes: at the first occurrence of each marker, the value from the marker's first
/// byte and one NUL; every other byte as it was.
fn with_values(binary: &[u8], values: &[(Vec<u8>, String)]) -> Vec<u8> {
    let mut out = binary.to_vec();
    for (marker, value) in values {
        let at = binary
            .windows(marker.len())
            .position(|w| w == &marker[..])
            .expect("the test binary holds the marker");
        out[at..at + value.len()].copy_from_slice(value.as_bytes());
        out[at + value.len()] = 0;
    }
    out
}

/// The release pullspec by digest, the digest as skopeo reads it.
fn release_by_digest(r: &RegistryPayload) -> String {
    let digest = tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!("docker://{}", r.release_ref()),
        ],
    );
    format!("{}/okd/scos-release@{}", r.host, digest.trim())
}

fn installer_values(r: &RegistryPayload) -> Vec<(Vec<u8>, String)> {
    vec![
        (image_marker(), release_by_digest(r)),
        (version_marker(), VERSION.to_string()),
        (arch_marker(), "linux/amd64".to_string()),
    ]
}

fn small() -> PayloadSpec {
    PayloadSpec::new().components(16).layer_size(512)
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn command_openshift_install_is_byte_for_byte_what_oc_writes() {
    let binary = installer_binary();
    let r =
        registry_payload(small().file("installer", "usr/bin/openshift-install", binary.clone()))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("bin");
    let run = r.okd(&[
        "release",
        "extract",
        &r.release_ref(),
        "--command",
        "openshift-install",
        "--command-os",
        "linux/amd64",
        "--to",
        &to.display().to_string(),
    ]);
    run.ok();
    assert!(!run.stderr().contains("warning"), "{}", run.stderr());
    assert_eq!(dir_names(&to), ["openshift-install"]);
    let got = std::fs::read(to.join("openshift-install")).unwrap();
    let want = with_values(&binary, &installer_values(&r));
    assert_eq!(got.len(), binary.len());
    assert!(
        got == want,
        "the extracted installer differs from oc's bytes"
    );
    // The second image marker is untouched: only the first occurrence is replaced.
    assert!(got.ends_with(&[&image_marker()[..], &binary[binary.len() - 123..]].concat()));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(to.join("openshift-install"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
}

#[tokio::test]
async fn a_binary_without_markers_gets_oc_s_warning_and_strict_writes_nothing() {
    let binary = b"\x7fELF no placeholders in this one".repeat(100);
    let r =
        registry_payload(small().file("installer", "usr/bin/openshift-install", binary.clone()))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().display().to_string();
    let args = |strict: bool| {
        let mut a = vec![
            "release".to_string(),
            "extract".into(),
            r.release_ref(),
            "--command".into(),
            "openshift-install".into(),
            "--command-os".into(),
            "linux".into(),
            "--to".into(),
            to.clone(),
        ];
        if strict {
            a.push("--strict".into());
        }
        a
    };
    let strict = r.okd(&args(true));
    let err = strict.fails_after_log();
    assert!(
        err.contains("--strict") && err.contains("release image"),
        "{err}"
    );
    assert!(
        dir_names(dir.path()).is_empty(),
        "{:?}",
        dir_names(dir.path())
    );

    let run = r.okd(&args(false));
    run.ok();
    assert!(
        run.stderr().contains(
            "warning: Unable to make all expected replacements in openshift-install.  Remaining: release architecture, release image, release version"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(
        std::fs::read(dir.path().join("openshift-install")).unwrap(),
        binary
    );
}

#[tokio::test]
async fn tools_archives_match_sha256sum_txt_and_hold_oc_s_bytes() {
    let installer = installer_binary();
    let mut client = b"\x7fELF client ".to_vec();
    client.extend(version_marker());
    client.extend(b" end");
    let spec = small()
        .file("installer", "usr/bin/openshift-install", installer.clone())
        .file(
            "installer-artifacts",
            "usr/share/openshift/mac/openshift-install",
            installer.clone(),
        )
        .file("cli", "usr/bin/oc", client.clone())
        .file(
            "cli-artifacts",
            "usr/share/openshift/mac/oc",
            client.clone(),
        )
        .file(
            "cli-artifacts",
            "usr/share/openshift/windows/oc.exe",
            client.clone(),
        );
    let r = registry_payload(spec).await;
    let dir = tempfile::tempdir().unwrap();
    let run = r.okd(&[
        "release",
        "extract",
        &r.release_ref(),
        "--tools",
        "--command-os",
        "*",
        "--to",
        &dir.path().display().to_string(),
    ]);
    run.ok();
    let archives = [
        format!("openshift-client-linux-{VERSION}.tar.gz"),
        format!("openshift-client-mac-{VERSION}.tar.gz"),
        format!("openshift-client-windows-{VERSION}.zip"),
        format!("openshift-install-linux-{VERSION}.tar.gz"),
        format!("openshift-install-mac-{VERSION}.tar.gz"),
    ];
    let mut want: Vec<String> = archives.to_vec();
    want.extend(["release.txt".to_string(), "sha256sum.txt".to_string()]);
    want.sort();
    assert_eq!(dir_names(dir.path()), want);

    // sha256sum checks every archive and release.txt against sha256sum.txt.
    let out = Command::new("sha256sum")
        .args(["-c", "sha256sum.txt"])
        .current_dir(dir.path())
        .output()
        .expect("sha256sum (coreutils) is needed by this test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().filter(|l| l.ends_with(": OK")).count(),
        6,
        "{text}"
    );
    let sums = std::fs::read_to_string(dir.path().join("sha256sum.txt")).unwrap();
    let listed: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert!(sums.lines().all(|l| l.as_bytes()[64..66] == *b"  "));

    // tar unpacks the installer archive: README.md and the installer with the release in it.
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let archive = dir.path().join(&archives[3]);
    tool(
        "tar",
        &[
            "-xzf",
            &archive.display().to_string(),
            "-C",
            &unpacked.display().to_string(),
        ],
    );
    assert_eq!(dir_names(&unpacked), ["README.md", "openshift-install"]);
    let got = std::fs::read(unpacked.join("openshift-install")).unwrap();
    assert!(got == with_values(&installer, &installer_values(&r)));

    // The client archive links kubectl to oc.
    let client_archive = dir.path().join(&archives[0]);
    let listing = tool("tar", &["-tvzf", &client_archive.display().to_string()]);
    assert!(listing.contains("kubectl link to oc"), "{listing}");

    // The zip holds README.md and oc.exe with the version written in.
    let zip = dir.path().join(&archives[2]);
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(','.join(i.filename for i in z.infolist()))\nsys.stdout.flush()\nsys.stdout.buffer.write(z.read('oc.exe'))";
    let out = testkit::tools::run("python3", &["-c", script, &zip.display().to_string()]);
    let newline = out.iter().position(|b| *b == b'\n').unwrap();
    assert_eq!(&out[..newline], b"README.md,oc.exe");
    let values = [(version_marker(), VERSION.to_string())];
    assert!(out[newline + 1..] == with_values(&client, &values)[..]);

    // release.txt ends with the release info, pullspecs by digest.
    let release_txt = std::fs::read_to_string(dir.path().join("release.txt")).unwrap();
    assert!(release_txt.contains("\n---\n\nName:"), "{release_txt}");
    assert!(
        release_txt.contains(&format!("Pull From: {}", release_by_digest(&r))),
        "{release_txt}"
    );
    assert!(release_txt.contains("  NAME"), "{release_txt}");

    // cli-artifacts lacks the RHEL builds and there is no ccoctl: not a failure with --tools.
    assert!(!run.stderr().contains("error"), "{}", run.stderr());
}

fn credentials_request(name: &str, kind: &str, annotations: &str) -> String {
    format!(
        "apiVersion: cloudcredential.openshift.io/v1\nkind: CredentialsRequest\nmetadata:\n  name: {name}\n  namespace: openshift-cloud-credential-operator\n{annotations}spec:\n  providerSpec:\n    apiVersion: cloudcredential.openshift.io/v1\n    kind: {kind}\n  secretRef:\n    name: {name}-creds\n    namespace: openshift-machine-api\n"
    )
}

const SELF_MANAGED: &str =
    "  annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n";
const HYPERSHIFT_ONLY: &str =
    "  annotations:\n    include.release.openshift.io/hypershift: \"true\"\n";

#[tokio::test]
async fn credentials_requests_are_kept_per_cloud_and_per_cluster() {
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: x\n  annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n";
    let mixed = format!(
        "{}---\n{config_map}",
        credentials_request("aws-ebs", "AWSProviderSpec", SELF_MANAGED)
    );
    let spec = small()
        .release_manifest(
            "0000_30_cco_aws.yaml",
            credentials_request("aws-machine-api", "AWSProviderSpec", SELF_MANAGED),
        )
        .release_manifest(
            "0000_30_cco_gcp.yaml",
            credentials_request("gcp-machine-api", "GCPProviderSpec", SELF_MANAGED),
        )
        .release_manifest("0000_30_cco_mixed.yaml", mixed)
        .release_manifest(
            "0000_30_cco_manual.yaml",
            credentials_request("aws-manual", "AWSProviderSpec", ""),
        )
        .release_manifest(
            "0000_30_cco_hypershift.yaml",
            credentials_request("aws-hosted", "AWSProviderSpec", HYPERSHIFT_ONLY),
        );
    let r = registry_payload(spec).await;
    let extract = |dir: &Path, extra: &[&str]| {
        let mut args = vec![
            "release".to_string(),
            "extract".into(),
            r.release_ref(),
            "--credentials-requests".into(),
            "--to".into(),
            dir.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        r.okd(&args)
    };

    let aws = tempfile::tempdir().unwrap();
    let run = extract(aws.path(), &["--cloud", "aws"]);
    run.ok();
    assert!(
        run.stderr().contains("warning: without --included"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        dir_names(aws.path()),
        [
            "0000_30_cco_aws.yaml",
            "0000_30_cco_hypershift.yaml",
            "0000_30_cco_manual.yaml",
            "0000_30_cco_mixed.yaml"
        ]
    );
    let mixed = std::fs::read_to_string(aws.path().join("0000_30_cco_mixed.yaml")).unwrap();
    assert!(
        mixed.starts_with("---\n") && mixed.contains("name: aws-ebs"),
        "{mixed}"
    );
    assert!(!mixed.contains("ConfigMap"), "{mixed}");
    let whole = std::fs::read_to_string(aws.path().join("0000_30_cco_aws.yaml")).unwrap();
    assert_eq!(
        whole,
        credentials_request("aws-machine-api", "AWSProviderSpec", SELF_MANAGED)
    );

    let gcp = tempfile::tempdir().unwrap();
    extract(gcp.path(), &["--cloud", "gcp"]).ok();
    assert_eq!(dir_names(gcp.path()), ["0000_30_cco_gcp.yaml"]);

    // --included: the install-config's platform is the cloud; a request without annotations
    // is kept, one for another profile is not.
    let config = tempfile::tempdir().unwrap();
    let install_config = config.path().join("install-config.yaml");
    std::fs::write(
        &install_config,
        "apiVersion: v1\nmetadata:\n  name: demo\nplatform:\n  aws:\n    region: us-east-1\n",
    )
    .unwrap();
    let ic = install_config.display().to_string();
    let included = tempfile::tempdir().unwrap();
    extract(included.path(), &["--included", "--install-config", &ic]).ok();
    assert_eq!(
        dir_names(included.path()),
        [
            "0000_30_cco_aws.yaml",
            "0000_30_cco_manual.yaml",
            "0000_30_cco_mixed.yaml"
        ]
    );

    let refused = tempfile::tempdir().unwrap();
    let err = extract(
        refused.path(),
        &["--included", "--install-config", &ic, "--cloud", "gcp"],
    )
    .fails();
    assert!(
        err.contains("--cloud \"gcp\" set, but") && err.contains("\"aws\""),
        "{err}"
    );
    let err = extract(refused.path(), &["--cloud", "mars"]).fails_after_log();
    assert!(
        err.contains("--cloud value \"mars\" not recognized"),
        "{err}"
    );
    assert!(dir_names(refused.path()).is_empty());
}
