//! `okd-streams --authfile FILE stream run`: the jobs of the stream reach a private registry with
//! the same credentials as okd-streams itself, through `REGISTRY_AUTH_FILE`; and with the same
//! registries.conf (`--registries-conf`, as `CONTAINERS_REGISTRIES_CONF`) and certificates
//! (`--cert-dir`, as the built-in checks' own `--cert-dir`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use okd_streams::gating::{JobCommand, VerifyJob};
use okd_streams::oci::registry::RegistryOptions;
use okd_streams::stream::{StreamBuilder, TickContext};

const USER: &str = "okd-ci";
const PASSWORD: &str = "pr1vate-registry-s3cret";

/// A stream over the generated upstream in `dir`, with `jobs` (YAML lines under `jobs:`).
fn stream_file(dir: &Path, store: &str, jobs: &str) -> PathBuf {
    let text = format!(
        r#"name: 4.19.0-0.okd-scos
store: {store}
namespace: okd-demo
state: {dir}/state
upstream:
  repository: oci:{dir}/upstream:okd/scos-release
  tags: "4.19.0-okd-scos.*"
version: {{ scheme: sequence, version: 4.19.0, label: okd-scos }}
created_from: inputs
gating:
  jobs:
{jobs}promotions:
  - {{ name: next, repository: 4-scos-next }}
"#,
        dir = dir.display()
    );
    let path = dir.join("stream.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A job writing what it finds in `REGISTRY_AUTH_FILE` (or `unset`) to `<dir>/seen-auth-file`.
fn recording_job(dir: &Path) -> String {
    format!(
        "    seen: {{ shell: 'printf %s \"${{REGISTRY_AUTH_FILE-unset}}\" > {}/seen-auth-file' }}\n",
        dir.display()
    )
}

/// `okd-streams ARGS` in `cwd`, with no credentials but the ones the test hands over: an empty
/// home and none of the variables that point container tools at auth files.
fn okd_streams(cwd: &Path, args: &[&str]) -> Output {
    let home = cwd.join("home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new(env!("CARGO_BIN_EXE_okd-streams"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", &home)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("CONTAINERS_REGISTRIES_CONF")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("DOCKER_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `okd-streams --authfile auth.json FLAGS… stream run FILE --once` in `dir`, asserted to
/// succeed; its stderr.
fn run_once_with(dir: &Path, file: &Path, flags: &[&str]) -> String {
    let mut args = vec!["--authfile", "auth.json"];
    args.extend(flags);
    args.extend(["stream", "run", file.to_str().unwrap(), "--once"]);
    let out = okd_streams(dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// Asserts that the job wrote, to `<dir>/record`, the absolute path of `<dir>/file`.
fn assert_job_saw(dir: &Path, record: &str, file: &str) {
    let seen = PathBuf::from(std::fs::read_to_string(dir.join(record)).unwrap());
    assert!(seen.is_absolute(), "{}", seen.display());
    assert_eq!(
        seen.canonicalize().unwrap(),
        dir.join(file).canonicalize().unwrap()
    );
}

/// The one release of the run, asserted accepted (`why` says what that proves); its pullspec
/// and the published entries.
fn accepted_release(dir: &Path, why: &str) -> (String, usize) {
    let (releases, published) = common::outcome(dir);
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0].1, "Accepted", "{why}");
    (releases[0].2.clone(), published.len())
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_pull_from_a_private_registry_with_the_authfile() {
    testkit::tools::run("skopeo", &["--version"]);
    let registry = testkit::Registry::builder()
        .htpasswd(USER, PASSWORD)
        .spawn()
        .await
        .expect("docker-registry is needed by this test (apt-get install docker-registry)");
    let host = registry.host();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let auth_json = registry.auth_json();
    std::fs::write(dir.join("auth.json"), &auth_json).unwrap();

    // The built-in checks read the release from the private registry; `pull` is what a user's
    // e2e job does first; `seen` records the variable.
    let jobs = format!(
        "    images: {{ check: images }}\n    manifests: {{ check: manifests }}\n    \
         pull: {{ shell: 'skopeo inspect --tls-verify=false \"docker://$RELEASE_IMAGE_LATEST\"' }}\n{}",
        recording_job(dir)
    );
    let file = stream_file(dir, &format!("docker://{host}/team"), &jobs);
    // A relative --authfile: jobs still get an absolute path.
    let out = okd_streams(
        dir,
        &[
            "-vv",
            "--insecure-registry",
            &host,
            "--authfile",
            "auth.json",
            "stream",
            "run",
            file.to_str().unwrap(),
            "--once",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    assert_job_saw(dir, "seen-auth-file", "auth.json");
    let why = format!(
        "every job, skopeo and the built-in checks included, reached the registry: {stdout}"
    );
    let (release, published) = accepted_release(dir, &why);
    assert_eq!(published, 1);
    let pull_log = dir.join("state/logs/4.19.0-okd-scos.1/4.19.0-okd-scos.1-pull.stdout");
    let inspected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pull_log).unwrap()).unwrap();
    let digest = release.rsplit_once('@').unwrap().1;
    assert_eq!(inspected["Digest"].as_str(), Some(digest), "{inspected}");

    // Only the path travelled: neither the password nor the encoded credentials appear in the
    // output of okd-streams or in any log, state or ledger file of the stream.
    let encoded =
        serde_json::from_str::<serde_json::Value>(&auth_json).unwrap()["auths"][&host]["auth"]
            .as_str()
            .unwrap()
            .to_string();
    for secret in [PASSWORD, encoded.as_str()] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
        for f in files_under(&dir.join("state")) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            assert!(!text.contains(secret), "{} holds a credential", f.display());
        }
    }

    // The same skopeo command without the variable is refused: the jobs passed because of it.
    let denied = Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            &format!("docker://{release}"),
        ])
        .env("HOME", dir.join("home"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("DOCKER_CONFIG")
        .output()
        .unwrap();
    assert!(
        !denied.status.success(),
        "the registry should require credentials"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_authfile_jobs_get_no_auth_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let file = stream_file(
        dir,
        &format!("oci:{}/store", dir.display()),
        &recording_job(dir),
    );
    let out = okd_streams(dir, &["stream", "run", file.to_str().unwrap(), "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("seen-auth-file")).unwrap(),
        "unset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_own_auth_file_wins_and_exports_stay_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let auth = dir.join("auth.json");
    std::fs::write(&auth, "{\"auths\":{}}").unwrap();
    let record = |name: &str| {
        JobCommand::shell(&format!(
            "printf %s \"${{REGISTRY_AUTH_FILE-unset}}\" > {}/{name}",
            dir.display()
        ))
    };
    let stream = StreamBuilder::new("4.19.0-0.okd-scos")
        .upstream_newest(
            &format!("oci:{}/upstream:okd/scos-release", dir.display()),
            "4.19.0-okd-scos.*",
        )
        .store(&format!("oci:{}/store", dir.display()))
        .registry_options(RegistryOptions::default().auth_file(&auth))
        .job(
            VerifyJob::blocking("inherited", "inherited"),
            record("inherited"),
        )
        .job(
            VerifyJob::blocking("own", "own"),
            record("own").env("REGISTRY_AUTH_FILE", "/etc/ci/auth.json"),
        )
        .state_dir(dir.join("state"))
        .build()
        .await
        .unwrap();
    stream.run_until_idle(&TickContext::now()).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("inherited")).unwrap(),
        auth.display().to_string()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("own")).unwrap(),
        "/etc/ci/auth.json"
    );
    // The variable belongs to the local runner, not to the jobs' commands that exports (Tekton)
    // are made from.
    let inherited = &stream.job_commands()["inherited"];
    assert!(!inherited.env.contains_key("REGISTRY_AUTH_FILE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_get_the_registries_conf_given_as_a_file() {
    testkit::tools::run("skopeo", &["--version"]);
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed by this test (apt-get install docker-registry)");
    let host = registry.host();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    std::fs::write(dir.join("auth.json"), "{\"auths\":{}}").unwrap();
    // The plain-HTTP registry is insecure only by this file, not by any flag.
    std::fs::write(
        dir.join("registries.conf"),
        format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n"),
    )
    .unwrap();
    // skopeo reaches plain HTTP only through an insecure registries.conf entry. Debian's
    // skopeo 1.9 does not read the variable itself, so the job hands it over.
    let jobs = format!(
        "    images: {{ check: images }}\n    \
         pull: {{ shell: 'skopeo --registries-conf \"$CONTAINERS_REGISTRIES_CONF\" inspect \"docker://$RELEASE_IMAGE_LATEST\"' }}\n    \
         seen: {{ shell: 'printf %s \"${{CONTAINERS_REGISTRIES_CONF-unset}}\" > {}/seen-conf' }}\n",
        dir.display()
    );
    let file = stream_file(dir, &format!("docker://{host}/team"), &jobs);
    let stderr = run_once_with(dir, &file, &["--registries-conf", "registries.conf"]);
    assert_job_saw(dir, "seen-conf", "registries.conf");
    let (release, _) = accepted_release(dir, &format!("skopeo read the file: {stderr}"));

    // skopeo without the file does not reach the registry.
    let denied = Command::new("skopeo")
        .args(["inspect", &format!("docker://{release}")])
        .env("HOME", dir.join("home"))
        .env_remove("CONTAINERS_REGISTRIES_CONF")
        .output()
        .unwrap();
    assert!(!denied.status.success(), "plain HTTP needs the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_checks_get_the_cert_dir() {
    let registry = testkit::Registry::builder()
        .tls(true)
        .spawn()
        .await
        .expect("docker-registry with TLS (apt-get install docker-registry)");
    let host = registry.host();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    std::fs::write(dir.join("auth.json"), "{\"auths\":{}}").unwrap();
    // The registry's CA is nobody's but this directory's.
    std::fs::create_dir(dir.join("certs")).unwrap();
    std::fs::copy(registry.ca_pem().unwrap(), dir.join("certs/testkit-ca.crt")).unwrap();
    let jobs = "    images: { check: images }\n    manifests: { check: manifests }\n";
    let file = stream_file(dir, &format!("docker://{host}/team"), jobs);
    // A relative --cert-dir: the checks still get an absolute path.
    let stderr = run_once_with(dir, &file, &["--cert-dir", "certs"]);
    let (_, published) = accepted_release(dir, &format!("the checks trusted the CA: {stderr}"));
    assert_eq!(published, 1);
    let log = dir.join("state/logs/4.19.0-okd-scos.1/4.19.0-okd-scos.1-images.stdout");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("images:"), "{text}");
}

#[test]
fn the_guides_credentials_example_is_a_valid_stream_file() {
    let guide = include_str!("../../../docs/stream-file.md");
    let section = &guide[guide.find("## Registry credentials").unwrap()..];
    let start = section.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + section[start..].find("```").unwrap();
    let yaml = format!(
        "name: 4.19.0-0.okd-scos\nstore: oci:target/x\n\
         upstream: {{image: quay.io/okd/scos-release:4.19.0-okd-scos.1}}\n{}",
        &section[start..end]
    );
    let file = okd_streams::stream::StreamFile::parse(&yaml, "guide.yaml").unwrap();
    assert_eq!(file.gating.jobs.len(), 2);
    assert!(file.gating.jobs.values().all(|j| j.shell.is_some()));
    file.to_builder(Path::new("guide.yaml")).unwrap();
}
