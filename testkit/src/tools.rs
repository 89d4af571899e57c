//! `skopeo`, `umoci` and other installed programs as independent readers of what okd-streams
//! writes.
//!
//! Every function here fails the test with a message naming the program and its Debian package
//! when the program is not installed, and with its standard error when it exits non-zero: a test
//! that asked for an independent reader never passes without one.
//!
//! ```no_run
//! let raw = testkit::tools::skopeo(&["inspect", "--raw", "oci:/tmp/layout:okd/release:4.19"]);
//! assert!(!raw.is_empty());
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use okd_oci::{RawManifest, Store, StoreExt};

/// Runs `program` with `args` and returns its standard output.
///
/// Panics, naming the program, when it is missing or exits non-zero.
pub fn run(program: &str, args: &[&str]) -> Vec<u8> {
    run_command(Command::new(program).args(args))
}

/// Runs a prepared command (arguments, environment, working directory) and returns its standard
/// output.
///
/// Panics, naming the command, when its program is missing or it exits non-zero.
pub fn run_command(cmd: &mut Command) -> Vec<u8> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("`{program}` is needed by this test and could not be run: {e} (apt-get install {program})")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `skopeo` with `args` and returns its standard output.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    run("skopeo", args)
}

/// Runs `umoci` with `args` and returns its standard output.
pub fn umoci(args: &[&str]) -> Vec<u8> {
    run("umoci", args)
}

/// The path of `program` on `PATH`.
///
/// Panics with the package to install when it is not there.
pub fn require(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is required by this test and is not installed (apt-get install {program})"
            )
        })
}

/// `skopeo copy --quiet FROM TO`, with containers-image transport names (`dir:…`, `oci:…`,
/// `docker://…`).
pub fn skopeo_copy(from: &str, to: &str) {
    skopeo(&["copy", "--quiet", from, to]);
}

/// `umoci unpack --rootless --image LAYOUT:NAME BUNDLE`; the files end up in `BUNDLE/rootfs`.
pub fn umoci_unpack(layout: &Path, name: &str, bundle: &Path) {
    umoci(&[
        "unpack",
        "--rootless",
        "--image",
        &format!("{}:{name}", layout.display()),
        &bundle.display().to_string(),
    ]);
}

/// Writes the image `manifest` of `repo` in `store` as a containers-image `dir:` directory,
/// the transport through which skopeo reads Docker schema 2 images byte for byte.
pub async fn export_dir(store: &dyn Store, repo: &str, manifest: &RawManifest, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n").unwrap();
    std::fs::write(dir.join("manifest.json"), manifest.bytes()).unwrap();
    for r in manifest.references().unwrap() {
        let bytes = store.get_blob(repo, &r.digest, 1 << 30).await.unwrap();
        std::fs::write(dir.join(r.digest.hex()), bytes).unwrap();
    }
}
