//! The release after a payload: some components rebuilt from the same commit, some changed to a
//! new commit, some added and some removed, with the old version among `previous`.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt};
use okd_oci::{ManifestRef, Store};
use rand::seq::SliceRandom;

use super::build::{self, Ctx};
use super::component::{Component, ComponentKind};
use super::plan::{self, Recipe};
use super::spec::validate_version;
use super::{Payload, PayloadError, assemble, names};

/// What changes in the next payload. Components are chosen at random (from `seed`) among those
/// that can take the change: the `cluster-version-operator`, the OS images and components some
/// operator references are never removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextSpec {
    /// Components rebuilt from the same commit (new digest, same `io.openshift.build.commit.id`).
    pub rebuilt: usize,
    /// Components rebuilt from a new commit (component versions they declare are bumped).
    pub changed: usize,
    /// New components (`component-NNN`, every third an operator).
    pub added: usize,
    /// Components dropped from the payload.
    pub removed: usize,
    /// The new release name; it must differ from the current one.
    pub version: String,
    /// Seed of the choices and of the new content.
    pub seed: u64,
}

/// The component names that differ between a payload and its next one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadChanges {
    /// Same commit, new digest.
    pub rebuilt: BTreeSet<String>,
    /// New commit.
    pub changed: BTreeSet<String>,
    /// Only in the new payload.
    pub added: BTreeSet<String>,
    /// Only in the old payload.
    pub removed: BTreeSet<String>,
}

/// Increments the last number in a version (`9.0.20250530-0` → `9.0.20250530-1`,
/// `1.32.5` → `1.32.6`).
fn bump(version: &str) -> String {
    let bytes = version.as_bytes();
    let Some(end) = bytes.iter().rposition(u8::is_ascii_digit) else {
        return format!("{version}.1");
    };
    let start = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    match version[start..=end].parse::<u64>() {
        Ok(n) => format!("{}{}{}", &version[..start], n + 1, &version[end + 1..]),
        Err(_) => format!("{version}.1"),
    }
}

fn choose(
    candidates: &[String],
    n: usize,
    seed: u64,
    what: &'static str,
    version: &str,
) -> Result<Vec<String>, PayloadError> {
    if n > candidates.len() {
        return Err(PayloadError::spec(
            what,
            n,
            format!("only {} components can be {what}", candidates.len()),
        ));
    }
    let mut pool = candidates.to_vec();
    pool.sort();
    pool.shuffle(&mut plan::rng(seed, &["next", what, version]));
    pool.truncate(n);
    Ok(pool)
}

impl Payload {
    /// Writes the next release into `store` (which must hold this payload): the components
    /// `next` asks to rebuild, change and add are built, the others keep their digests and get
    /// the new `<version>-<name>` tags, removed ones lose their `<name>` tag. The new release
    /// is created a day after this one, with this version added to `previous`.
    pub async fn next(
        &self,
        store: &dyn Store,
        next: &NextSpec,
    ) -> Result<(Payload, PayloadChanges), PayloadError> {
        validate_version("version", &next.version)?;
        if next.version == self.version {
            return Err(PayloadError::spec(
                "version",
                &next.version,
                "the next release needs a new name",
            ));
        }
        let mut spec = self.spec.clone();
        spec.version = next.version.clone();
        spec.previous.push(self.version.clone());
        spec.previous.sort();
        spec.previous.dedup();
        spec.created = self.spec.created + 24 * 3600;

        let referenced: BTreeSet<&str> = self
            .components
            .iter()
            .flat_map(|c| c.recipe.refs.iter().map(String::as_str))
            .collect();
        let all: Vec<String> = self.components.iter().map(|c| c.name.clone()).collect();
        let removable: Vec<String> = self
            .components
            .iter()
            .filter(|c| {
                c.name != names::CVO
                    && !matches!(c.kind, ComponentKind::Os | ComponentKind::OsExtensions)
                    && !referenced.contains(c.name.as_str())
            })
            .map(|c| c.name.clone())
            .collect();
        let removed = choose(
            &removable,
            next.removed,
            next.seed,
            "removed",
            &next.version,
        )?;
        let rest: Vec<String> = all
            .iter()
            .filter(|n| !removed.contains(n))
            .cloned()
            .collect();
        let changed = choose(&rest, next.changed, next.seed, "changed", &next.version)?;
        let rest: Vec<String> = rest.into_iter().filter(|n| !changed.contains(n)).collect();
        let rebuilt = choose(&rest, next.rebuilt, next.seed, "rebuilt", &next.version)?;

        let build_at = |name: &str| {
            let hours = 2 + plan::pick(next.seed, &["next-created", name, &next.version]) % 20;
            self.spec.created + hours as i64 * 3600
        };
        let build_id = |name: &str| plan::hex_id(next.seed, &["build", name, &next.version], 12);

        let mut work: Vec<(String, Option<Recipe>)> = Vec::new();
        for c in &self.components {
            if removed.contains(&c.name) {
                continue;
            }
            let recipe = if changed.contains(&c.name) {
                let mut r = c.recipe.clone();
                r.commit = plan::commit_for(self.spec.seed ^ next.seed, &r.repo, &next.version);
                r.build = build_id(&c.name);
                r.created = build_at(&c.name);
                for v in r.versions.values_mut() {
                    *v = bump(v);
                }
                Some(r)
            } else if rebuilt.contains(&c.name) {
                let mut r = c.recipe.clone();
                r.build = build_id(&c.name);
                r.created = build_at(&c.name);
                Some(r)
            } else {
                None
            };
            work.push((c.name.clone(), recipe));
        }
        let start = self
            .components
            .iter()
            .filter_map(|c| names::synthetic_index(&c.name))
            .chain([names::NAMED.len(), self.spec.components])
            .max()
            .unwrap_or(0)
            + 1;
        let mut present: BTreeSet<String> = work.iter().map(|(n, _)| n.clone()).collect();
        let mut added = Vec::new();
        for k in 0..next.added {
            present.insert(names::synthetic_name(start + k, k % 3 == 2));
        }
        for k in 0..next.added {
            let operator = k % 3 == 2;
            let previous_plain = (k >= 1).then(|| names::synthetic_name(start + k - 1, false));
            let refs = plan::synthetic_refs(previous_plain.as_deref(), &present);
            let (name, mut recipe) = plan::synthetic(&spec, start + k, operator, refs);
            recipe.created = build_at(&name);
            added.push(name.clone());
            work.push((name, Some(recipe)));
        }

        let by_name: HashMap<&str, &Component> = self
            .components
            .iter()
            .map(|c| (c.name.as_str(), c))
            .collect();
        let ctx = Ctx {
            store,
            spec: &spec,
            version: &spec.version,
            bases: &self.bases,
        };
        let components: Vec<Component> =
            futures::stream::iter(work.iter().map(|(name, recipe)| {
                let ctx = &ctx;
                let content_repo = spec.content_repo.as_str();
                let old = by_name.get(name.as_str()).copied();
                async move {
                    match (recipe, old) {
                        (Some(r), _) => build::build_component(ctx, name, r).await,
                        (None, Some(old)) => {
                            let m = store
                                .read_manifest(
                                    content_repo,
                                    &ManifestRef::Digest(old.digest.clone()),
                                )
                                .await?;
                            build::tag(ctx, name, &m).await?;
                            Ok(old.clone())
                        }
                        (None, None) => Err(PayloadError::spec("components", name, "no recipe")),
                    }
                }
            }))
            .buffer_unordered(spec.concurrency)
            .try_collect()
            .await?;
        for name in &removed {
            match store.delete_tag(&spec.content_repo, name).await {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
        }
        let payload = assemble(store, spec.clone(), self.bases.clone(), components).await?;
        let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
        Ok((
            payload,
            PayloadChanges {
                rebuilt: set(rebuilt),
                changed: set(changed),
                added: set(added),
                removed: set(removed),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::bump;

    #[test]
    fn bumps_the_last_number() {
        assert_eq!(bump("9.0.20250530-0"), "9.0.20250530-1");
        assert_eq!(bump("1.32.5"), "1.32.6");
        assert_eq!(bump("1.32.9-rc"), "1.32.10-rc");
        assert_eq!(bump("x"), "x.1");
    }
}
