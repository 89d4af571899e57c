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

    std::fs::write(
        &conf,
        format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n"),
    )
    .unwrap();
    let info = okd([
        "--authfile",
        auth,
        "--registries-conf",
        conf_arg,
        "release",
        "info",
        &r.release_ref(),
    ])
    .ok();
    assert!(info.contains(&r.payload.version), "{info}");

    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{host}\"\ninsecure = true\n\n\
             [[registry]]\nlocation = \"{host}/okd/scos-release\"\ninsecure = true\nblocked = true\n"
        ),
    )
    .unwrap();
    let line = okd([
        "--authfile",
        auth,
        "--registries-conf",
        conf_arg,
        "release",
        "info",
        &r.release_ref(),
    ])
    .fails();
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
