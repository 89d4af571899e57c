//! A stream with `signing:` signs each promoted release exactly once, across resumed runs, into
//! `<state>/signatures/sha256=<hex>/signature-<n>`; gpg and `release verify` accept them, and
//! `stream serve` serves them as the signature store clusters read.

use std::collections::BTreeSet;
use std::path::Path;

use testkit::gpg::GpgHome;

use crate::common;

/// The digests published, from the state directory.
fn published_digests(dir: &std::path::Path) -> BTreeSet<String> {
    common::outcome(dir).1.into_iter().map(|p| p.4).collect()
}

fn signature_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let root = dir.join("state/signatures");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    files
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_promoted_release_is_signed_once() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let current = common::upstream(dir, 1).await;

    let gpg = GpgHome::new();
    let fpr = gpg.generate(
        "okd-demo releases <releases@example.invalid>",
        "ed25519",
        Some("s3cret"),
    );
    let key = gpg.write(
        "release.key",
        &gpg.export_secret(&fpr, Some("s3cret"), true),
    );
    let pass = gpg.write("passphrase", b"s3cret\n");
    for f in [&key, &pass] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let public = gpg.write("release.pub", &gpg.export_public(&fpr, true));
    let text = format!(
        "{}signing:\n  key: {}\n  passphrase_file: {}\n",
        common::stream_file(dir, &format!("oci:{}/store", dir.display())),
        key.display(),
        pass.display()
    );
    let file = dir.join("stream.yaml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();

    let run = common::run_ok(&["stream", "run", file, "--once"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("published  4.19.0-okd-scos.1"), "{out}");
    let digests = published_digests(dir);
    assert_eq!(digests.len(), 1, "two rules, one release: {digests:?}");
    let first = signature_files(dir);
    let digest = digests.iter().next().unwrap().clone();
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert_eq!(
        first,
        [dir.join(format!("state/signatures/sha256={hex}/signature-1"))]
    );

    // A resumed run signs nothing again.
    common::run_ok(&["stream", "run", file, "--once"]);
    assert_eq!(signature_files(dir), first);

    // A new upstream release is promoted and signed; the first keeps its one signature.
    common::advance(dir, &current, 2).await;
    common::run_ok(&["stream", "run", file, "--once"]);
    common::run_ok(&["stream", "run", file, "--once"]);
    let digests = published_digests(dir);
    let files = signature_files(dir);
    let signed: BTreeSet<String> = files
        .iter()
        .map(|f| {
            assert!(
                f.ends_with("signature-1"),
                "one signature per release: {files:?}"
            );
            let parent = f.parent().unwrap().file_name().unwrap().to_string_lossy();
            parent.replace("sha256=", "sha256:")
        })
        .collect();
    assert!(signed.is_superset(&digests), "{signed:?} {digests:?}");
    assert_eq!(signed.len(), 2, "{files:?}");

    // Every signature verifies with gpg and, as clusters check it, with `release verify`.
    for f in &files {
        let ok = gpg.output(&["--verify", &f.display().to_string()]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }
    let mut verified = 0;
    for (name, _, pullspec) in common::outcome(dir).0 {
        let Some(d) = pullspec.rsplit_once('@').map(|(_, d)| d.to_string()) else {
            continue;
        };
        if !signed.contains(&d) {
            continue;
        }
        let image = format!("oci:{}/store:okd-demo/release:{name}", dir.display());
        let out = common::run_ok(&[
            "release",
            "verify",
            &image,
            "--keyring",
            &public.display().to_string(),
            "--signature-dir",
            &dir.join("state/signatures").display().to_string(),
            "--identity",
            &format!("localhost/okd-demo/release:{name}"),
        ]);
        assert!(String::from_utf8_lossy(&out.stdout).contains(&fpr));
        verified += 1;
    }
    assert_eq!(verified, 2, "both promoted releases verified");

    // The report marks both signed releases.
    let report = dir.join("report");
    common::run_ok(&[
        "stream",
        "report",
        file,
        "--out",
        &report.display().to_string(),
    ]);
    let index = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert_eq!(index.matches(">signed</span>").count(), 2, "{index}");

    // `stream serve` is the signature store clusters read: each signature at its path, a 404
    // past the last one, and `release verify --store` (what the CVO does) finds them.
    let (server, addr) = super::stream_serve::serve(Path::new(file));
    for f in &files {
        let rel = f
            .strip_prefix(dir.join("state"))
            .unwrap()
            .display()
            .to_string();
        let got = testkit::http_client::get(addr, &format!("/{rel}"), &[]).unwrap();
        assert_eq!(got.status, 200, "{rel}");
        assert_eq!(got.body, std::fs::read(f).unwrap(), "{rel}");
        let next = rel.replace("signature-1", "signature-2");
        let past = testkit::http_client::get(addr, &format!("/{next}"), &[]).unwrap();
        assert_eq!(past.status, 404, "{next}");
    }
    let (name, _, _) = common::outcome(dir).0.pop().unwrap();
    let out = common::run_ok(&[
        "release",
        "verify",
        &format!("oci:{}/store:okd-demo/release:{name}", dir.display()),
        "--keyring",
        &public.display().to_string(),
        "--store",
        &format!("http://{addr}/signatures"),
        "--identity",
        &format!("localhost/okd-demo/release:{name}"),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&fpr));
    super::stream_serve::stop(server);
}
