//! The error type of okd-coreos. Every variant names the input that was wrong.

use std::path::PathBuf;

/// Errors from parsing CoreOS documents and versions, inspecting OS images and layering them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An OS version that matches none of the CoreOS version schemes.
    #[error("invalid OS version {input:?}: {reason}")]
    InvalidOsVersion {
        /// The version as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A stream name unknown to the variant it was given for.
    #[error("unknown {variant} stream {input:?} (known: {known})")]
    UnknownStream {
        /// The variant (`fcos`, `scos`, `rhcos`).
        variant: &'static str,
        /// The stream name as given.
        input: String,
        /// The names that are accepted.
        known: String,
    },
    /// A variant name that is not `fcos`, `scos`, `rhcos` or one of their aliases.
    #[error("unknown CoreOS variant {input:?} (expected fcos, scos or rhcos)")]
    UnknownVariant {
        /// The name as given.
        input: String,
    },
    /// An architecture name that is neither an RPM nor an OCI architecture name.
    #[error("unknown architecture {input:?}")]
    UnknownArchitecture {
        /// The name as given.
        input: String,
    },
    /// A JSON document that does not parse as the type it should be.
    #[error("invalid {document} at {path}: {message}")]
    Json {
        /// What the document is (`stream metadata`, `release index`, `image config`).
        document: String,
        /// Where in the document the problem is (`architectures.x86_64.artifacts.metal`), or `.`
        /// for the top level.
        path: String,
        /// What serde said.
        message: String,
    },
    /// A value that is not a 64-character lowercase hex SHA-256.
    #[error("invalid sha256 {input:?}: {reason}")]
    InvalidSha256 {
        /// The value as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A timestamp that is not RFC 3339.
    #[error("invalid timestamp {input:?}: {reason}")]
    InvalidTimestamp {
        /// The value as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something a look-up asked for that the document does not have.
    #[error("{document} {name:?} has no {path}")]
    NotFound {
        /// The kind of document (`stream`, `release`, `release index`).
        document: &'static str,
        /// The document's name (the stream name or release version).
        name: String,
        /// The path that was looked up (`architectures.s390x`, `images.aws.regions.us-east-1`).
        path: String,
    },
    /// A label value that does not have the `name=value[,name=value]` shape.
    #[error("invalid label {label}={value:?}: {reason}")]
    InvalidLabel {
        /// The label key.
        label: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An image that is not an OS image where one was required.
    #[error("{image} is not a CoreOS/bootc OS image: {reason}")]
    NotAnOsImage {
        /// The image.
        image: String,
        /// Why (`no ostree.bootable label`).
        reason: String,
    },
    /// An OS image whose ostree labels contradict its layers.
    #[error("OS image {image}: {reason}")]
    InconsistentOsImage {
        /// The image.
        image: String,
        /// What contradicts what.
        reason: String,
    },
    /// A manifest list or index given where one image for one platform was needed.
    #[error("{image} is a multi-architecture index; choose an architecture (it has {available})")]
    NeedsArchitecture {
        /// The image.
        image: String,
        /// The architectures the index has.
        available: String,
    },
    /// An index that has no image for the architecture asked for.
    #[error("{image} has no image for architecture {architecture} (it has {available})")]
    ArchitectureNotInIndex {
        /// The image.
        image: String,
        /// The architecture asked for (OCI name).
        architecture: String,
        /// The architectures the index has.
        available: String,
    },
    /// A symbolic link in a layer directory that points outside it.
    #[error("symlink {path} points to {target}, outside the layer directory {root}")]
    SymlinkEscapes {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
        /// The directory the layer is built from.
        root: PathBuf,
    },
    /// A path in a layer that is absolute, contains `..` or is not valid UTF-8.
    #[error("invalid path {path} in layer {layer}: {reason}")]
    InvalidLayerPath {
        /// The offending path.
        path: PathBuf,
        /// The layer source.
        layer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A layer the lint refuses: the node would lose or reject what it holds.
    #[error("layer {layer} refused on {image}: {findings}")]
    LintRefused {
        /// The image being built.
        image: String,
        /// The layer source.
        layer: String,
        /// The errors found, `; `-separated.
        findings: String,
    },
    /// The image builder a Containerfile needs is not installed.
    #[error(
        "`{program}` is needed to build a Containerfile and is not on PATH (install the `{package}` package)"
    )]
    BuilderMissing {
        /// The program looked for.
        program: String,
        /// The Debian package that has it.
        package: String,
    },
    /// A Containerfile build (or the push of its result) failed.
    #[error("{build} failed ({status}): {output}")]
    BuildFailed {
        /// The build, as a command line.
        build: String,
        /// How the builder exited.
        status: String,
        /// The last lines it printed on stderr.
        output: String,
    },
    /// A unit to enable that neither the added layers nor the base have.
    #[error(
        "cannot enable {unit} for {target} on {image}: no /usr/lib/systemd/system/{file} or /etc/systemd/system/{file} in the added layers or the base"
    )]
    UnitNotFound {
        /// The image being built.
        image: String,
        /// The unit as given (`okd-hello.service`, `getty@tty1.service`).
        unit: String,
        /// The unit file looked for (the template `getty@.service` for an instance).
        file: String,
        /// The target it was to be enabled for.
        target: String,
    },
    /// A path to remove that the image below does not have.
    #[error("cannot remove /{path} on {image}: {reason}")]
    NothingToRemove {
        /// The image being built.
        image: String,
        /// The path as given.
        path: String,
        /// Why (`the base has no /usr/bin/x`).
        reason: String,
    },
    /// A MachineConfig that cannot be written as given.
    #[error("invalid MachineConfig {name}: {reason}")]
    InvalidMachineConfig {
        /// Its name (`99-worker-okd-streams-os`).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A layering request that cannot be carried out as given.
    #[error("invalid layering request for {image}: {reason}")]
    InvalidLayering {
        /// The image being built.
        image: String,
        /// What is wrong.
        reason: String,
    },
    /// A `name=pullspec` override that cannot be used.
    #[error("invalid override {input:?}: {reason}")]
    InvalidOverride {
        /// The override (or the pullspec) as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A variant whose payload has an extensions image, given no extensions image to point it at.
    #[error(
        "variant {variant} has the payload tag {tag:?} but no extensions image was given \
         (set one, or skip the extensions tag explicitly)"
    )]
    MissingExtensionsImage {
        /// The variant.
        variant: String,
        /// Its extensions payload tag.
        tag: String,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task (tar writing, directory walking) did not finish.
    #[error("background task for {what} failed: {message}")]
    Task {
        /// What the task was doing.
        what: String,
        /// The join error.
        message: String,
    },
    /// An error from the content store or an image operation.
    #[error(transparent)]
    Oci(#[from] okd_oci::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Parses `bytes` as JSON of type `T`, naming `document` and the path of the offending field in
/// the error.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    document: &str,
    bytes: &[u8],
) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Error::Json {
            document: document.to_string(),
            path,
            message: e.into_inner().to_string(),
        }
    })?;
    // Trailing bytes after the document mean it was cut or concatenated: refuse it whole.
    de.end().map_err(|e| Error::Json {
        document: document.to_string(),
        path: ".".to_string(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Serialises `value` as pretty JSON with a trailing newline, the way the CoreOS tools publish
/// their documents.
pub(crate) fn to_json_pretty<T: serde::Serialize>(document: &str, value: &T) -> Vec<u8> {
    match serde_json::to_vec_pretty(value) {
        Ok(mut v) => {
            v.push(b'\n');
            v
        }
        // Our document types serialise only strings, numbers, maps and JSON values, which cannot
        // fail; an error here is a bug in a type definition, not bad input.
        Err(e) => unreachable!("serialising {document} failed: {e}"),
    }
}
