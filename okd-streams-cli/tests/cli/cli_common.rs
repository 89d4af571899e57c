//! Running the `okd-streams` binary against testkit payloads in a docker-registry and in layouts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use okd_oci::{LayoutStore, RegistryStore};
use testkit::payload::{Payload, PayloadSpec, generate};

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert!(
            self.output.status.success(),
            "okd-streams {:?} failed ({}): {}",
            self.args,
            self.output.status,
            self.stderr()
        );
        self.stdout()
    }

    /// Asserts success and parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// Asserts a non-zero exit with exactly one `error: …` line on stderr, and returns it.
    pub fn fails(&self) -> String {
        assert!(
            !self.output.status.success(),
            "okd-streams {:?} should have failed; stdout: {}",
            self.args,
            self.stdout()
        );
        assert_ne!(self.output.status.code(), Some(0));
        let err = self.stderr();
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "one line of error expected for {:?}, got: {err}",
            self.args
        );
        assert!(lines[0].starts_with("error: "), "{err}");
        lines[0].to_string()
    }
}

impl Run {
    /// Asserts a non-zero exit whose stderr ends with exactly one `error: …` line (commands
    /// that log progress on stderr), and returns it.
    pub fn fails_after_log(&self) -> String {
        assert!(
            !self.output.status.success(),
            "okd-streams {:?} should have failed; stdout: {}",
            self.args,
            self.stdout()
        );
        let err = self.stderr();
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "one error line expected, got: {err}");
        assert_eq!(err.lines().last(), Some(errors[0]), "{err}");
        assert!(errors[0].starts_with("error: "), "{err}");
        errors[0].to_string()
    }
}

/// Runs the binary with `args`.
pub fn okd<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<String> = args.into_iter().map(|s| s.as_ref().to_string()).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_okd-streams"))
        .args(&args)
        .env_remove("RUST_LOG")
        .output()
        .expect("running the okd-streams binary");
    Run { args, output }
}

/// A docker-registry on loopback with a payload in it, and the CLI flags to reach it.
pub struct RegistryPayload {
    pub registry: testkit::Registry,
    pub host: String,
    pub store: RegistryStore,
    pub payload: Payload,
    pub flags: Vec<String>,
}

impl RegistryPayload {
    /// `okd-streams FLAGS args…`
    pub fn okd<S: AsRef<str>>(&self, args: &[S]) -> Run {
        okd(self
            .flags
            .iter()
            .map(String::as_str)
            .chain(args.iter().map(AsRef::as_ref)))
    }

    /// `HOST/REPO:TAG`
    pub fn at(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }

    /// The release image by tag.
    pub fn release_ref(&self) -> String {
        self.at(&format!("okd/scos-release:{}", self.payload.version))
    }
}

/// Starts docker-registry and generates `spec` into it, with component pullspecs naming it.
pub async fn registry_payload(spec: PayloadSpec) -> RegistryPayload {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let host = registry.host();
    let store = testkit::stores::plain_store(&registry);
    let auth = testkit::stores::empty_auth_file(registry.dir());
    let spec = spec.pullspec_prefix(format!("{host}/okd/scos-content"));
    let payload = generate(&store, &spec)
        .await
        .expect("generating the payload");
    let flags = vec![
        "--insecure-registry".to_string(),
        host.clone(),
        "--authfile".to_string(),
        auth.display().to_string(),
    ];
    RegistryPayload {
        registry,
        host,
        store,
        payload,
        flags,
    }
}

/// A payload generated into a new OCI layout at `dir/layout`.
pub async fn layout_payload(dir: &Path, spec: PayloadSpec) -> (PathBuf, LayoutStore, Payload) {
    let path = dir.join("layout");
    let store = LayoutStore::create(&path).await.unwrap();
    let payload = generate(&store, &spec)
        .await
        .expect("generating the payload");
    (path, store, payload)
}

/// Runs an external tool, failing with a clear message when it is missing or fails.
pub fn tool(cmd: &str, args: &[&str]) -> String {
    String::from_utf8_lossy(&testkit::tools::run(cmd, args)).into_owned()
}

/// The `NAME DIGEST` rows of the `Images:` table of `release info`.
pub fn image_rows(info: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut in_images = false;
    for line in info.lines() {
        if line == "Images:" {
            in_images = true;
            continue;
        }
        if !in_images {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        let mut cols = line.split_whitespace();
        let (Some(name), Some(id)) = (cols.next(), cols.next()) else {
            continue;
        };
        if name == "NAME" {
            continue;
        }
        rows.push((name.to_string(), id.to_string()));
    }
    rows
}
