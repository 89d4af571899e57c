//! `release sign`, `release verify`, `release verification-config`, `release new
//! --verification-key` and `mirror release --release-image-signature-to-dir` through the binary,
//! checked with gpg and skopeo.

use std::path::PathBuf;
use std::process::Command;

use testkit::gpg::GpgHome;
use testkit::payload::PayloadSpec;
use testkit::tools::run_command;

use crate::cli_common::{RegistryPayload, okd, registry_payload};

/// A gpg key written where the binary reads it.
pub(crate) struct Key {
    pub home: GpgHome,
    pub fingerprint: String,
    pub secret: PathBuf,
    pub public: PathBuf,
}

pub(crate) fn new_key(algo: &str) -> Key {
    use std::os::unix::fs::PermissionsExt;
    let home = GpgHome::new();
    let fingerprint = home.generate(
        &format!("okd-streams cli <{algo}@example.invalid>"),
        algo,
        None,
    );
    let secret = home.write("secret.asc", &home.export_secret(&fingerprint, None, true));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let public = home.write("public.asc", &home.export_public(&fingerprint, true));
    Key {
        home,
        fingerprint,
        secret,
        public,
    }
}

fn sign(r: &RegistryPayload, key: &Key, dir: &std::path::Path) -> PathBuf {
    let out = r
        .okd(&[
            "release",
            "sign",
            &r.release_ref(),
            "--key",
            &key.secret.display().to_string(),
            "--signature-dir",
            &dir.display().to_string(),
        ])
        .ok();
    PathBuf::from(out.trim())
}

#[tokio::test]
async fn a_signed_release_verifies_with_skopeo_gpg_and_the_binary() {
    let r = registry_payload(PayloadSpec::new().components(3)).await;
    let key = new_key("ed25519");
    let dir = tempfile::tempdir().unwrap();
    let digest = r.payload.release_digest().clone();
    let path = sign(&r, &key, dir.path());
    assert_eq!(
        path,
        dir.path()
            .join(format!("sha256={}/signature-1", digest.hex()))
    );
    // A second signing takes the next number.
    let again = sign(&r, &key, dir.path());
    assert_eq!(
        again,
        dir.path()
            .join(format!("sha256={}/signature-2", digest.hex()))
    );

    let gpg = key.home.output(&["--verify", &path.display().to_string()]);
    assert!(
        gpg.status.success(),
        "{}",
        String::from_utf8_lossy(&gpg.stderr)
    );

    // skopeo reads the manifest from the registry and checks the signature against it, with the
    // reference as it was given as the identity.
    let manifest = run_command(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}", r.release_ref()),
    ]));
    let manifest_file = key.home.write("manifest.json", &manifest);
    let out = run_command(
        Command::new("skopeo")
            .env("GNUPGHOME", key.home.path())
            .arg("standalone-verify")
            .arg(&manifest_file)
            .arg(r.release_ref())
            .arg(&key.fingerprint)
            .arg(&path),
    );
    assert!(String::from_utf8_lossy(&out).contains("Signature verified"));

    let verify = |extra: &[&str]| {
        let mut args = vec![
            "release".to_string(),
            "verify".to_string(),
            r.release_ref(),
            "--signature-dir".to_string(),
            dir.path().display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        r.okd(&args)
    };
    let keyring = key.public.display().to_string();
    let ok = verify(&["--keyring", &keyring]).ok();
    assert!(ok.contains(&key.fingerprint), "{ok}");
    let ok = verify(&["--keyring", &keyring, "--identity", &r.release_ref()]).ok();
    assert!(ok.contains(&digest.to_string()), "{ok}");

    let err = verify(&[
        "--keyring",
        &keyring,
        "--identity",
        "quay.io/other/release:1",
    ])
    .fails();
    assert!(err.contains("bad identity"), "{err}");
    let stranger = new_key("ed25519");
    let err = verify(&["--keyring", &stranger.public.display().to_string()]).fails();
    assert!(err.contains("not in the keyring"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = r
        .okd(&[
            "release",
            "verify",
            &r.release_ref(),
            "--keyring",
            &keyring,
            "--signature-dir",
            &empty.path().display().to_string(),
        ])
        .fails();
    assert!(err.contains("no signature"), "{err}");
}

#[tokio::test]
async fn a_skopeo_signature_verifies_with_the_binary() {
    let r = registry_payload(PayloadSpec::new().components(2)).await;
    let key = new_key("rsa2048");
    let digest = r.payload.release_digest().clone();
    let manifest = run_command(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}", r.release_ref()),
    ]));
    let manifest_file = key.home.write("manifest.json", &manifest);
    let dir = tempfile::tempdir().unwrap();
    let sig = dir
        .path()
        .join(format!("sha256={}/signature-1", digest.hex()));
    std::fs::create_dir_all(sig.parent().unwrap()).unwrap();
    run_command(
        Command::new("skopeo")
            .env("GNUPGHOME", key.home.path())
            .arg("standalone-sign")
            .arg("--output")
            .arg(&sig)
            .arg(&manifest_file)
            .arg(r.release_ref())
            .arg(&key.fingerprint),
    );
    let out = r
        .okd(&[
            "release",
            "verify",
            &r.release_ref(),
            "--keyring",
            &key.public.display().to_string(),
            "--signature-dir",
            &dir.path().display().to_string(),
            "--identity",
            &r.release_ref(),
        ])
        .ok();
    assert!(out.contains(&key.fingerprint), "{out}");
}

#[tokio::test]
async fn a_new_release_carries_the_verification_config_map() {
    let r = registry_payload(PayloadSpec::new().components(2)).await;
    let key = new_key("ed25519");
    let store = "https://signatures.example.invalid/okd";
    let keyring = key.public.display().to_string();
    let printed = okd([
        "release",
        "verification-config",
        "--keyring",
        &keyring,
        "--store",
        store,
    ])
    .ok();
    let cm: serde_yaml_ng::Value = serde_yaml_ng::from_str(&printed).unwrap();
    assert_eq!(cm["metadata"]["namespace"], "openshift-config-managed");
    assert_eq!(cm["data"]["store-okd-streams"], store);
    assert!(
        cm["data"]["verifier-public-key-okd-streams"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    );

    let to = r.at("okd/trusting:1");
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &r.release_ref(),
        "--verification-key",
        &keyring,
        "--signature-store",
        store,
        "--to-image",
        &to,
    ])
    .ok();
    let out = tempfile::tempdir().unwrap();
    r.okd(&[
        "release",
        "extract",
        &to,
        "--to",
        &out.path().display().to_string(),
    ])
    .ok();
    let file = out.path().join(okd_sign_manifest_name());
    let text =
        std::fs::read_to_string(&file).expect("the verification ConfigMap is in the payload");
    assert_eq!(text, printed);
    let cm: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(
        cm["metadata"]["annotations"]["release.openshift.io/verification-config-map"],
        ""
    );
}

fn okd_sign_manifest_name() -> &'static str {
    "0000_00_okd-streams_verification-configmap.yaml"
}

#[tokio::test]
async fn a_mirror_writes_the_signature_config_map_oc_writes() {
    use base64::Engine;
    let r = registry_payload(PayloadSpec::new().components(2)).await;
    let key = new_key("ed25519");
    let sigs = tempfile::tempdir().unwrap();
    let path = sign(&r, &key, sigs.path());
    let digest = r.payload.release_digest().clone();
    let dir = tempfile::tempdir().unwrap();
    let to_dir = dir.path().join("config");
    let run = r.okd(&[
        "mirror",
        "release",
        &r.release_ref(),
        "--to",
        &format!("oci:{}:okd/mirror", dir.path().join("layout").display()),
        "--release-image-signature-to-dir",
        &to_dir.display().to_string(),
        "--signature-dir",
        &sigs.path().display().to_string(),
    ]);
    run.ok();
    let file = to_dir.join(format!("signature-sha256-{}.json", &digest.hex()[..16]));
    let cm: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let name = format!("sha256-{}", digest.hex());
    assert_eq!(cm["metadata"]["name"], name.as_str());
    assert_eq!(
        cm["metadata"]["labels"]["release.openshift.io/verification-signatures"],
        ""
    );
    let carried = base64::engine::general_purpose::STANDARD
        .decode(cm["binaryData"][format!("{name}-1")].as_str().unwrap())
        .unwrap();
    assert_eq!(carried, std::fs::read(&path).unwrap());

    // Without a signature the mirror says so instead of writing an empty ConfigMap.
    let empty = tempfile::tempdir().unwrap();
    let err = r
        .okd(&[
            "mirror",
            "release",
            &r.release_ref(),
            "--to",
            &format!("oci:{}:okd/mirror", dir.path().join("layout").display()),
            "--release-image-signature-to-dir",
            &dir.path().join("none").display().to_string(),
            "--signature-dir",
            &empty.path().display().to_string(),
        ])
        .fails_after_log();
    assert!(err.contains("no signature"), "{err}");
}
