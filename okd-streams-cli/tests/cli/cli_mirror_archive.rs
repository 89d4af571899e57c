//! `okd-streams mirror release … --to archive:DIR` and `mirror archive DIR --to REPO`: a
//! testkit payload and its next release through chunked archives into fresh docker-registries,
//! and damaged archives refused before anything is pushed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::cli_common;

use cli_common::{okd, registry_payload, tool};
use okd_oci::{Digest, ManifestRef, RegistryStore, Store};
use testkit::payload::{NextSpec, Payload, PayloadSpec};

const MIB: u64 = 1 << 20;

/// A fresh docker-registry on loopback and the flags to reach it.
struct Destination {
    registry: testkit::Registry,
    store: RegistryStore,
    flags: Vec<String>,
}

async fn destination() -> Destination {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let store = testkit::stores::plain_store(&registry);
    let auth = testkit::stores::empty_auth_file(registry.dir());
    let flags = vec![
        "--insecure-registry".to_string(),
        registry.host(),
        "--authfile".to_string(),
        auth.display().to_string(),
    ];
    Destination {
        registry,
        store,
        flags,
    }
}

impl Destination {
    /// `okd-streams FLAGS args…`; a `mirror archive` without `--cluster-resources` writes into
    /// a temporary directory rather than the working directory.
    fn okd(&self, args: &[&str]) -> cli_common::Run {
        let scratch = tempfile::tempdir().unwrap();
        let resources = scratch
            .path()
            .join("cluster-resources")
            .display()
            .to_string();
        let mut all: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        if args.starts_with(&["mirror", "archive"]) && !args.contains(&"--cluster-resources") {
            all.extend(["--cluster-resources", resources.as_str()]);
        }
        okd(all)
    }

    fn repo(&self) -> String {
        format!("docker://{}/mirror/okd", self.registry.host())
    }

    /// Every file of the registry's storage with its size: what "unchanged" is checked on.
    fn walk(&self) -> BTreeMap<PathBuf, u64> {
        let mut out = BTreeMap::new();
        let root = self.registry.dir().join("storage");
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    dirs.push(entry.path());
                } else {
                    out.insert(
                        entry.path().strip_prefix(&root).unwrap().to_path_buf(),
                        meta.len(),
                    );
                }
            }
        }
        out
    }

    /// Every component, its children and the release resolve by digest, and the release by
    /// its tag; the manifests hash to the source's digests, so they are the source's bytes.
    async fn assert_holds(&self, p: &Payload) {
        let repo = "mirror/okd";
        for c in &p.components {
            let m = self
                .store
                .read_manifest(repo, &ManifestRef::Digest(c.digest.clone()))
                .await
                .unwrap_or_else(|e| panic!("{} missing: {e}", c.name));
            assert_eq!(Digest::sha256_of(m.bytes()), c.digest, "{}", c.name);
            for child in &c.platforms {
                assert_eq!(
                    self.store
                        .manifest_digest(repo, &ManifestRef::Digest(child.digest.clone()))
                        .await
                        .unwrap(),
                    Some(child.digest.clone())
                );
            }
            for (blob, size) in c.blobs() {
                assert_eq!(self.store.blob_size(repo, &blob).await.unwrap(), Some(size));
            }
        }
        let tag = format!("{}-x86_64", p.version);
        let release = self
            .store
            .read_manifest(repo, &ManifestRef::Tag(tag.clone()))
            .await
            .unwrap();
        assert_eq!(Digest::sha256_of(release.bytes()), *p.release_digest());
        // skopeo reads the release from the registry.
        let image = format!("docker://{}/{repo}:{tag}", self.registry.host());
        let inspected: serde_json::Value =
            serde_json::from_str(&tool("skopeo", &["inspect", "--tls-verify=false", &image]))
                .unwrap();
        assert_eq!(inspected["Digest"], p.release_digest().to_string());
    }
}

/// Layers and configs of the release and every component, with their sizes.
fn payload_blobs(p: &Payload) -> BTreeMap<Digest, u64> {
    let mut out: BTreeMap<Digest, u64> = p.components.iter().flat_map(|c| c.blobs()).collect();
    out.insert(p.release.config.digest.clone(), p.release.config.size);
    out.extend(p.release.layers.iter().map(|l| (l.digest.clone(), l.size)));
    out
}

/// The chunk files of an archive, sorted.
fn chunks(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .collect();
    out.sort();
    out
}

/// The archive's manifest, read out of chunk 0 with tar itself.
fn archive_manifest(dir: &Path) -> serde_json::Value {
    let chunk0 = dir.join("okd-mirror_000000.tar");
    let text = tool(
        "tar",
        &[
            "-xOf",
            &chunk0.display().to_string(),
            "okd-mirror/archive.json",
        ],
    );
    serde_json::from_str(&text).unwrap()
}

/// The digests of the blobs (whole or in parts) an archive carries, with the bytes of each.
fn archived_blobs(manifest: &serde_json::Value) -> BTreeMap<Digest, u64> {
    let mut out = BTreeMap::new();
    for e in manifest["entries"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        let digest: Digest = match e["part_of"].as_str() {
            Some(blob) => blob.parse().unwrap(),
            None if path.starts_with("blobs/") => e["digest"].as_str().unwrap().parse().unwrap(),
            None => continue,
        };
        *out.entry(digest).or_insert(0) += e["size"].as_u64().unwrap();
    }
    out
}

fn write_archive(
    r: &cli_common::RegistryPayload,
    release: &str,
    dir: &Path,
    size: &str,
    extra: &[&str],
) {
    let to = format!("archive:{}", dir.display());
    let mut args = vec![
        "mirror",
        "release",
        release,
        "--to",
        &to,
        "--max-archive-size",
        size,
    ];
    args.extend_from_slice(extra);
    let out = r.okd(&args).ok();
    assert!(out.contains("Success"), "{out}");
}

#[tokio::test]
async fn archives_carry_a_release_and_its_update_across_the_gap() {
    // Two OS layers larger than any manifest (and than a chunk): the restore pushes them from
    // where their parts lie in the chunks.
    let r = registry_payload(PayloadSpec::new().os_layers(2).os_layer_size(6 * MIB)).await;
    let p = r.payload.clone();
    assert_eq!(p.components.len(), 190);
    let next_spec = NextSpec {
        rebuilt: 4,
        changed: 6,
        added: 3,
        // docker-registry refuses to untag a component that the older release still tags.
        removed: 0,
        version: "4.19.0-okd-scos.2".to_string(),
        seed: 17,
    };
    let (next, _) = p.next(&r.store, &next_spec).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));

    write_archive(&r, &r.release_ref(), &first, "4MiB", &[]);
    let next_ref = r.at(&format!("okd/scos-release:{}", next.version));
    let since = first.display().to_string();
    write_archive(&r, &next_ref, &second, "4MiB", &["--since", &since]);

    // Several chunks, each under the limit and each a tar file tar lists on its own.
    let first_chunks = chunks(&first);
    assert!(first_chunks.len() >= 4, "{first_chunks:?}");
    for c in &first_chunks {
        let len = std::fs::metadata(c).unwrap().len();
        assert!(len <= 4 * MIB, "{} is {len} bytes", c.display());
        assert!(!tool("tar", &["-tf", &c.display().to_string()]).is_empty());
    }

    // The second archive holds exactly the blobs the first did not deliver.
    let (old, new) = (payload_blobs(&p), payload_blobs(&next));
    let only_new: BTreeMap<Digest, u64> = new
        .iter()
        .filter(|(d, _)| !old.contains_key(d))
        .map(|(d, s)| (d.clone(), *s))
        .collect();
    assert!(!only_new.is_empty());
    let second_manifest = archive_manifest(&second);
    let carried = archived_blobs(&second_manifest);
    let carried_layers: BTreeMap<Digest, u64> = carried
        .iter()
        .filter(|(d, _)| new.contains_key(d) || old.contains_key(d))
        .map(|(d, s)| (d.clone(), *s))
        .collect();
    assert_eq!(carried_layers, only_new, "the second archive's blobs");
    let omitted: BTreeSet<String> = second_manifest["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    let shared: BTreeSet<String> = new
        .keys()
        .filter(|d| old.contains_key(d))
        .map(Digest::to_string)
        .collect();
    assert_eq!(omitted, shared);
    let first_blobs = archived_blobs(&archive_manifest(&first));
    assert_eq!(
        first_blobs
            .iter()
            .filter(|(d, _)| old.contains_key(d))
            .map(|(_, s)| s)
            .sum::<u64>(),
        p.unique_blob_bytes,
        "the first archive carries every blob"
    );

    // The other side: the source is gone.
    let source_host = r.host.clone();
    drop(r);
    let dst = destination().await;
    let resources = dir.path().join("cluster-resources");
    let resources_arg = resources.display().to_string();
    let repo = dst.repo();
    let out = dst
        .okd(&[
            "mirror",
            "archive",
            &first.display().to_string(),
            "--to",
            &repo,
            "--cluster-resources",
            &resources_arg,
        ])
        .ok();
    assert!(out.contains("Success"), "{out}");
    dst.assert_holds(&p).await;
    let idms = std::fs::read_to_string(resources.join("idms-oc-mirror.yaml")).unwrap();
    let mirror = format!("- {}/mirror/okd", dst.registry.host());
    for source in ["okd/scos-content", "okd/scos-release"] {
        assert!(
            idms.contains(&format!("source: {source_host}/{source}")),
            "{idms}"
        );
    }
    assert!(idms.contains(&mirror), "{idms}");

    // The update on top gives the whole next release.
    dst.okd(&[
        "mirror",
        "archive",
        &second.display().to_string(),
        "--to",
        &repo,
        "--cluster-resources",
        &resources_arg,
    ])
    .ok();
    dst.assert_holds(&next).await;
}

#[tokio::test]
async fn an_update_archive_needs_the_earlier_one_restored_first() {
    let r = registry_payload(PayloadSpec::new().components(20)).await;
    let (next, _) = r
        .payload
        .next(
            &r.store,
            &NextSpec {
                changed: 2,
                version: "4.19.0-okd-scos.2".into(),
                ..NextSpec::default()
            },
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    write_archive(&r, &r.release_ref(), &first, "1MiB", &[]);
    let next_ref = r.at(&format!("okd/scos-release:{}", next.version));
    let since = first.join("okd-mirror_000000.tar").display().to_string();
    write_archive(&r, &next_ref, &second, "4MiB", &["--since", &since]);
    drop(r);

    let dst = destination().await;
    let before = dst.walk();
    let repo = dst.repo();
    let err = dst
        .okd(&[
            "mirror",
            "archive",
            &second.display().to_string(),
            "--to",
            &repo,
        ])
        .fails_after_log();
    assert!(err.contains("restore the earlier archives first"), "{err}");
    assert_eq!(dst.walk(), before, "nothing was pushed");
}

/// A copy of the archive in `from` at `to`, to damage.
fn copy_archive(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for c in chunks(from) {
        std::fs::copy(&c, to.join(c.file_name().unwrap())).unwrap();
    }
}

#[tokio::test]
async fn damaged_archives_are_refused_before_any_push() {
    let r = registry_payload(PayloadSpec::new().components(60)).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write_archive(&r, &r.release_ref(), &good, "1MiB", &[]);
    let p = r.payload.clone();
    drop(r);
    let names: Vec<PathBuf> = chunks(&good);
    assert!(names.len() >= 4, "{names:?}");
    let chunk2 = names[2].file_name().unwrap().to_owned();

    type Damage = fn(&Path);
    let damages: [(&str, Damage, &str); 4] = [
        (
            "truncated",
            |p| {
                let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                let len = f.metadata().unwrap().len();
                f.set_len(len - 700).unwrap();
            },
            "truncated",
        ),
        ("deleted", |p| std::fs::remove_file(p).unwrap(), "missing"),
        (
            "flipped",
            |p| {
                let mut bytes = std::fs::read(p).unwrap();
                let at = bytes.len() / 2;
                bytes[at] ^= 0x01;
                std::fs::write(p, bytes).unwrap();
            },
            "corrupt",
        ),
        (
            "index flipped",
            |p| {
                let index = p.parent().unwrap().join("okd-mirror_000000.tar");
                let mut bytes = std::fs::read(&index).unwrap();
                let at = bytes.windows(8).position(|w| w == b"\"format\"").unwrap() + 12;
                bytes[at] ^= 0x01;
                std::fs::write(&index, bytes).unwrap();
            },
            "okd-mirror_000000.tar",
        ),
    ];
    let dst = destination().await;
    let before = dst.walk();
    let repo = dst.repo();
    for (what, damage, says) in damages {
        let bad = dir.path().join(what.replace(' ', "-"));
        copy_archive(&good, &bad);
        damage(&bad.join(&chunk2));
        let err = dst
            .okd(&[
                "mirror",
                "archive",
                &bad.display().to_string(),
                "--to",
                &repo,
            ])
            .fails_after_log();
        let named = if what == "index flipped" {
            "okd-mirror_000000.tar".to_string()
        } else {
            chunk2.to_string_lossy().into_owned()
        };
        assert!(err.contains(&named), "{what}: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert_eq!(dst.walk(), before, "{what}: nothing was pushed");
    }

    // The undamaged archive restores into the same registry.
    dst.okd(&[
        "mirror",
        "archive",
        &good.display().to_string(),
        "--to",
        &repo,
    ])
    .ok();
    dst.assert_holds(&p).await;
}
