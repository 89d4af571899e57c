//! `okd-streams --registries-conf FILE` and `--cert-dir DIR`: a registry marked insecure in a
//! registries.conf is reached without `--insecure-registry`, and a blocked prefix is refused
//! with one line naming the reference and the file.

use crate::cli_common::{okd, registry_payload};
use crate::common;

#[tokio::test]
async fn registries_conf_makes_hosts_insecure_and_blocks_prefixes() {
    let r = registry_payload(common::spec()).await;
    let auth = testkit::stores::empty_auth_file(r.registry.dir());
    let auth = auth.to_str().unwrap();
    let conf = r.registry.dir().join("registries.conf");
    let conf_arg = conf.to_str().unwrap();
    let host = &r.host;

    // Without --insecure-registry and without a configuration, TLS is required.
    let empty = r.registry.dir().join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let no_tls = okd([
        "--authfile",
        auth,
        "--registries-conf",
        empty.to_str().unwrap(),
        "release",
        "info",
        &r.release_ref(),
    ]);
    assert!(!no_tls.output.status.success(), "{}", no_tls.stdout());

    // `release info` with the registries.conf written last.
    let release_info = || {
        okd([
            "--authfile",
            auth,
            "--registries-conf",
            conf_arg,
            "release",
            "info",
            &r.release_ref(),
        ])
    };
    std::fs::write(
        &conf,
        format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n"),
    )
    .unwrap();
    let info = release_info().ok();
    assert!(info.contains(&r.payload.version), "{info}");

    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{host}\"\ninsecure = true\n\n\
             [[registry]]\nlocation = \"{host}/okd/scos-release\"\ninsecure = true\nblocked = true\n"
        ),
    )
    .unwrap();
    let line = release_info().fails();
    assert!(
        line.contains("blocked") && line.contains(&r.release_ref()) && line.contains(conf_arg),
        "{line}"
    );

    // A file that does not parse stops the command before anything is contacted.
    std::fs::write(&conf, "[[registry]\n").unwrap();
    let line = okd([
        "--registries-conf",
        conf_arg,
        "release",
        "info",
        &r.release_ref(),
    ])
    .fails();
    assert!(line.contains(conf_arg), "{line}");
}

#[test]
fn help_documents_the_certificate_and_registries_conf_flags() {
    let help = okd(["--help"]).ok();
    for flag in ["--cert-dir <DIR>", "--registries-conf <FILE>", "certs.d"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[tokio::test]
async fn cert_dir_trusts_a_tls_registry_for_the_command() {
    let registry = testkit::Registry::builder()
        .tls(true)
        .spawn()
        .await
        .expect("docker-registry with TLS (apt-get install docker-registry)");
    let auth = testkit::stores::empty_auth_file(registry.dir());
    let certs = registry.dir().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::copy(registry.ca_pem().unwrap(), certs.join("testkit-ca.crt")).unwrap();
    let image = format!("{}/okd/scos-release:4.19.0", registry.host());
    let args = |cert_dir: Option<&str>| {
        let mut args = vec!["--authfile", auth.to_str().unwrap()];
        if let Some(dir) = cert_dir {
            args.extend(["--cert-dir", dir]);
        }
        args.extend(["release", "info", image.as_str()]);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };

    // Its CA is nobody's: a TLS error, pointing at certs.d (after the verifier's own log line).
    let line = okd(args(None)).fails_after_log();
    assert!(line.contains("TLS") && line.contains("certs.d"), "{line}");
    // With the CA in --cert-dir the registry answers: the image is simply not there.
    let line = okd(args(Some(certs.to_str().unwrap()))).fails();
    assert!(!line.contains("TLS"), "{line}");
    assert!(line.contains("not found"), "{line}");
}
