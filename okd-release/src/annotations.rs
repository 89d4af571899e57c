//! Label and annotation keys that release payloads and their component images carry.
//!
//! Component image labels are copied onto the image-references tag of that component by
//! `oc adm release new`; release images carry the two `io.openshift.release*` labels.

/// Release image label: the release name.
pub const RELEASE: &str = "io.openshift.release";
/// Release image label: manifest digest of the base (`cluster-version-operator`) image.
pub const RELEASE_BASE_IMAGE_DIGEST: &str = "io.openshift.release.base-image-digest";
/// Component image label: set (to any non-empty value) on images whose `/manifests` directory
/// contributes to the payload.
pub const RELEASE_OPERATOR: &str = "io.openshift.release.operator";
/// Tag annotation: the tag was replaced by a `name=pullspec` override.
pub const RELEASE_OVERRIDE: &str = "io.openshift.release.override";
/// Image-references annotation: the release was built from this release image.
pub const RELEASE_FROM_RELEASE: &str = "release.openshift.io/from-release";
/// Image-references annotation: the release was built from this `namespace/imagestream`.
pub const RELEASE_FROM_IMAGE_STREAM: &str = "release.openshift.io/from-image-stream";
/// Component label and tag annotation: `key=version[,key=version]`.
pub const BUILD_VERSIONS: &str = "io.openshift.build.versions";
/// Component label and tag annotation: `key=Display Name[,key=Display Name]`.
pub const BUILD_VERSION_DISPLAY_NAMES: &str = "io.openshift.build.version-display-names";
/// Component label and tag annotation: the git commit the image was built from.
pub const BUILD_COMMIT_ID: &str = "io.openshift.build.commit.id";
/// Component label and tag annotation: the git ref the image was built from.
pub const BUILD_COMMIT_REF: &str = "io.openshift.build.commit.ref";
/// Component label and tag annotation: the git repository the image was built from.
pub const BUILD_SOURCE_LOCATION: &str = "io.openshift.build.source-location";
/// Component label: the image is capped by a metadata layer.
pub const METALAYER: &str = "io.openshift.metalayer";
/// Release metadata key: `multi` for a heterogeneous (manifest-list) payload.
pub const METADATA_ARCHITECTURE: &str = "release.openshift.io/architecture";
/// Release metadata key: comma-separated channels the release is published in.
pub const METADATA_CHANNELS: &str = "io.openshift.upgrades.graph.release.channels";
/// Release metadata key: the errata URL.
pub const METADATA_URL: &str = "url";
/// Graph node metadata key: the manifest digest of the release image.
pub const GRAPH_MANIFESTREF: &str = "io.openshift.upgrades.graph.release.manifestref";
