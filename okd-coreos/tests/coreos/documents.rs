//! The CoreOS JSON documents: real samples round-trip without losing a field, look-ups return
//! exactly what the files hold, and malformed input gets an error naming the field.

use okd_coreos::{
    CoreosRelease, CosaBuilds, Error, OsVersion, ReleaseIndex, StreamMetadata, Updates,
};
use serde_json::{Value, json};

const FCOS_STREAM: &[u8] = include_bytes!("../data/fcos-stable-stream.trimmed.json");
const SCOS_STREAM: &[u8] = include_bytes!("../data/scos-c10s-stream.trimmed.json");
const FCOS_UPDATES: &[u8] = include_bytes!("../data/fcos-stable-updates.trimmed.json");
const FCOS_RELEASE: &[u8] = include_bytes!("../data/fcos-release.json.trimmed.json");
const FCOS_INDEX: &[u8] = include_bytes!("../data/fcos-release-index.trimmed.json");
const COSA_BUILDS: &[u8] =
    include_bytes!("../data/cosa-builds.json.example-from-source-comment.json");

fn value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("sample is JSON")
}

/// Parses, writes back and compares as JSON values with the original.
fn assert_round_trip<T>(
    bytes: &[u8],
    parse: fn(&[u8]) -> Result<T, Error>,
    write: fn(&T) -> Vec<u8>,
) {
    let doc = parse(bytes).expect("sample parses");
    let written = write(&doc);
    assert_eq!(
        value(&written),
        value(bytes),
        "round trip changed the document"
    );
    // A second pass is stable byte for byte.
    let again = write(&parse(&written).expect("written document parses"));
    assert_eq!(again, written);
}

#[test]
fn stream_metadata_samples_round_trip() {
    assert_round_trip(
        FCOS_STREAM,
        StreamMetadata::from_slice,
        StreamMetadata::to_json_pretty,
    );
    assert_round_trip(
        SCOS_STREAM,
        StreamMetadata::from_slice,
        StreamMetadata::to_json_pretty,
    );
}

#[test]
fn other_document_samples_round_trip() {
    assert_round_trip(FCOS_UPDATES, Updates::from_slice, Updates::to_json_pretty);
    assert_round_trip(
        FCOS_RELEASE,
        CoreosRelease::from_slice,
        CoreosRelease::to_json_pretty,
    );
    assert_round_trip(
        FCOS_INDEX,
        ReleaseIndex::from_slice,
        ReleaseIndex::to_json_pretty,
    );
    assert_round_trip(
        COSA_BUILDS,
        CosaBuilds::from_slice,
        CosaBuilds::to_json_pretty,
    );
}

/// Adds an unknown field at every level of the FCOS stream and checks that each survives.
#[test]
fn unknown_fields_survive_at_every_level() {
    let mut v = value(FCOS_STREAM);
    let marker = json!({"added-by": "a future generator", "n": 7});
    let paths: &[&[&str]] = &[
        &[],
        &["metadata"],
        &["architectures", "x86_64"],
        &["architectures", "x86_64", "artifacts", "metal"],
        &[
            "architectures",
            "x86_64",
            "artifacts",
            "metal",
            "formats",
            "pxe",
        ],
        &[
            "architectures",
            "x86_64",
            "artifacts",
            "metal",
            "formats",
            "pxe",
            "kernel",
        ],
        &["architectures", "x86_64", "images"],
        &["architectures", "x86_64", "images", "aws"],
        &[
            "architectures",
            "x86_64",
            "images",
            "aws",
            "regions",
            "af-south-1",
        ],
        &["architectures", "x86_64", "images", "gcp"],
        &["architectures", "x86_64", "images", "kubevirt"],
    ];
    for path in paths {
        let mut node = &mut v;
        for key in *path {
            node = node.get_mut(*key).expect("path exists in the sample");
        }
        node.as_object_mut()
            .expect("an object")
            .insert("x-future".to_string(), marker.clone());
    }
    // A whole new cloud and a new RHCOS-only section as well.
    v["architectures"]["x86_64"]["images"]["newcloud"] =
        json!({"regions": {"r1": {"image": "i-1"}}});
    v["architectures"]["x86_64"]["rhel-coreos-extensions"] =
        json!({"azure-disk": {"release": "x", "url": "u", "x-future": 1}, "new-thing": [1, 2]});
    let bytes = serde_json::to_vec(&v).unwrap();
    let parsed = StreamMetadata::from_slice(&bytes).unwrap();
    assert_eq!(parsed.extra.get("x-future"), Some(&marker));
    assert_eq!(value(&parsed.to_json_pretty()), v);
}

#[test]
fn fcos_look_ups_return_what_the_file_holds() {
    let s = StreamMetadata::from_slice(FCOS_STREAM).unwrap();
    assert_eq!(s.stream, "stable");
    assert_eq!(s.metadata.last_modified.as_str(), "2026-07-21T14:07:12Z");
    assert_eq!(
        s.metadata.generator.as_deref(),
        Some("fedora-coreos-stream-generator v0.2.19")
    );

    let raw = s.disk("x86_64", "metal", "raw.xz").unwrap();
    assert_eq!(
        raw.location,
        "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1/x86_64/fedora-coreos-44.20260707.3.1-metal.x86_64.raw.xz"
    );
    assert_eq!(
        raw.signature.as_deref(),
        Some(
            "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1/x86_64/fedora-coreos-44.20260707.3.1-metal.x86_64.raw.xz.sig"
        )
    );
    assert_eq!(
        raw.sha256.as_str(),
        "ca1ef085991998a7d33d3d64b55323eea7a1b563ff1b36c363dbb415eeb4b47f"
    );
    assert_eq!(
        raw.uncompressed_sha256.as_ref().map(|s| s.as_str()),
        Some("d4d3e7aac832adf868b91640d46a7404e619d93167a443102b2d35e9e5820981")
    );

    let qemu = s.disk("x86_64", "qemu", "qcow2.xz").unwrap();
    assert_eq!(
        qemu.sha256.as_str(),
        "35eb8e1f601b2b65545402df54b2dbb2a48e75f1d4483de5dc575d020ddefa1e"
    );

    let pxe = s.pxe("x86_64").unwrap();
    assert_eq!(
        pxe.kernel.sha256.as_str(),
        "b0389e187ed951727560f517d589f3daa2736dc34dc9aa245b986d72b6f6c3ee"
    );
    assert_eq!(
        pxe.initramfs.location,
        "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1/x86_64/fedora-coreos-44.20260707.3.1-live-initramfs.x86_64.img"
    );
    assert_eq!(
        pxe.rootfs.sha256.as_str(),
        "b500e557397bc76c87b83e17cb0f149a1386ca4e1fd79e61c6e10fe8361c5b44"
    );

    let ami = s.aws_ami("x86_64", "ap-east-1").unwrap();
    assert_eq!(ami.image, "ami-05e6a16031f837c7f");
    assert_eq!(ami.release, "44.20260707.3.1");
    let gcp = s.gcp_image("x86_64").unwrap();
    assert_eq!(gcp.project, "fedora-coreos-cloud");
    assert_eq!(gcp.family.as_deref(), Some("fedora-coreos-stable"));
    assert_eq!(gcp.name, "fedora-coreos-44-20260707-3-1-gcp-x86-64");
    let kv = s.container_image("x86_64").unwrap();
    assert_eq!(kv.image, "quay.io/fedora/fedora-coreos-kubevirt:stable");
    assert_eq!(
        kv.digest_ref,
        "quay.io/fedora/fedora-coreos-kubevirt@sha256:b61210adf15003b58fb330b1ef88370e1c845ebda002b9f23454d374285dfe7e"
    );

    assert_eq!(
        s.releases().into_iter().collect::<Vec<_>>(),
        ["44.20260707.3.1"]
    );
    let v: OsVersion = "44.20260707.3.1".parse().unwrap();
    assert_eq!(s.platform("x86_64", "aws").unwrap().release, v.to_string());
}

#[test]
fn scos_look_ups_return_what_the_file_holds() {
    let s = StreamMetadata::from_slice(SCOS_STREAM).unwrap();
    assert_eq!(s.stream, "c10s");
    let iso = s.disk("x86_64", "metal", "iso").unwrap();
    assert_eq!(iso.signature, None, "SCOS artifacts are not signed");
    assert_eq!(
        iso.sha256.as_str(),
        "ec8cd7952a88ea72455bf0c464e44518c2005c69d4b5380c88af0d7488a9c8a1"
    );
    let raw = s.disk("x86_64", "metal", "raw.gz").unwrap();
    assert_eq!(
        raw.uncompressed_sha256
            .as_ref()
            .map(|s| s.to_string())
            .as_deref(),
        Some("ddc7798d6342c1685e53592b32321182a6d3c86179342ff738e1b7e1b431332b")
    );
    assert_eq!(
        s.disk("x86_64", "nutanix", "qcow2").unwrap().location,
        "https://rhcos.mirror.openshift.com/art/storage/prod/streams/c10s/builds/10.0.20250628-0/x86_64/scos-10.0.20250628-0-nutanix.x86_64.qcow2"
    );
    assert_eq!(
        s.aws_ami("x86_64", "us-east-1").unwrap().image,
        "ami-03a3e8d3d248db380"
    );
    let gcp = s.gcp_image("x86_64").unwrap();
    assert_eq!(gcp.family, None);
    assert_eq!(gcp.name, "scos-10-0-20250628-0-gcp-x86-64");
    assert_eq!(
        s.azure_disk("x86_64").unwrap().url.as_deref(),
        Some(
            "https://rhcos.blob.core.windows.net/imagebucket/scos-10.0.20250628-0-azure.x86_64.vhd"
        )
    );
    let release: OsVersion = s
        .platform("x86_64", "qemu")
        .unwrap()
        .release
        .parse()
        .unwrap();
    assert_eq!(release.scheme(), "base-image");
}

#[test]
fn missing_look_ups_name_the_path() {
    let s = StreamMetadata::from_slice(SCOS_STREAM).unwrap();
    let cases = [
        (
            s.disk("s390x", "metal", "iso").unwrap_err(),
            "architectures.s390x",
        ),
        (
            s.disk("x86_64", "metal", "raw.xz").unwrap_err(),
            "architectures.x86_64.artifacts.metal.formats.raw.xz",
        ),
        (
            s.aws_ami("x86_64", "eu-west-1").unwrap_err(),
            "images.aws.regions.eu-west-1",
        ),
        (
            s.powervs_object("x86_64", "dal10").unwrap_err(),
            "images.powervs",
        ),
        (
            s.disk("x86_64", "gcp", "tar.gz").unwrap_err(),
            "artifacts.gcp",
        ),
    ];
    for (err, path) in cases {
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(path) && msg.contains("\"c10s\""), "{msg}");
    }
}

#[test]
fn release_json_look_ups() {
    let r = CoreosRelease::from_slice(FCOS_RELEASE).unwrap();
    assert_eq!(r.metadata, None);
    let x = r.arch("x86_64").unwrap();
    assert_eq!(
        x.commit.as_ref().map(|c| c.as_str()),
        Some("cad80088392fe43bd3cadf0481c3267f199afa7d9f83bc03937ffdbf5ebbc6da")
    );
    assert_eq!(
        r.aws_ami("x86_64", "me-south-1").unwrap(),
        "ami-08830d7d8bf851531"
    );
    assert_eq!(
        r.oci_image("x86_64").unwrap().digest_ref,
        "quay.io/fedora/fedora-coreos@sha256:460576931cf4ce59afe432ea266234f9d34fa77f8ca3087282084bc3a7324632"
    );
    assert_eq!(
        r.disk("x86_64", "gcp", "tar.gz").unwrap().sha256.as_str(),
        "515b2e42b35a15d30ba770db2e896d161baea5801cc27874c8c8f06e43ce1de7"
    );
    let gcp = x.media["gcp"].image.as_ref().unwrap();
    assert_eq!(
        gcp.name.as_deref(),
        Some("fedora-coreos-33-20201201-3-0-gcp-x86-64")
    );
}

#[test]
fn release_index_look_ups() {
    let i = ReleaseIndex::from_slice(FCOS_INDEX).unwrap();
    assert_eq!(i.releases.len(), 2);
    let latest = i.latest().unwrap().unwrap();
    assert_eq!(latest.version, "31.20200113.3.1");
    assert_eq!(
        latest.commit("x86_64").map(|c| c.as_str()),
        Some("f480038412cba26ab010d2cd5a09ddec736204a6e9faa8370edaa943cf33c932")
    );
    assert_eq!(latest.oci_image("x86_64"), None);
    let first = i.find("31.20200108.3.0").unwrap();
    assert_eq!(
        first.oci_image("x86_64").unwrap().image,
        "quay.io/fedora/fedora-coreos:stable"
    );
    assert_eq!(
        first.metadata,
        "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/31.20200108.3.0/release.json"
    );
    assert!(i.find("1.2.3").unwrap_err().to_string().contains("1.2.3"));
}

#[test]
fn updates_look_ups() {
    let u = Updates::from_slice(FCOS_UPDATES).unwrap();
    let barriers: Vec<&str> = u.barriers().map(|r| r.version.as_str()).collect();
    assert_eq!(barriers, ["31.20200517.3.0", "32.20200615.3.0"]);
    assert_eq!(
        u.find("32.20200615.3.0")
            .unwrap()
            .metadata
            .barrier
            .as_ref()
            .unwrap()
            .reason,
        "https://github.com/coreos/fedora-coreos-tracker/issues/484"
    );
    let rollout = u
        .find("44.20260707.3.1")
        .unwrap()
        .metadata
        .rollout
        .clone()
        .unwrap();
    assert_eq!(rollout.start_epoch, 1784728800);
    assert_eq!(rollout.start_percentage, 0.0);
    assert_eq!(rollout.duration_minutes, Some(2880));
    assert_eq!(u.deadends().count(), 0);
}

#[test]
fn malformed_documents_name_the_field() {
    let mut v = value(FCOS_STREAM);
    v["architectures"]["x86_64"]["artifacts"]["qemu"]["formats"]["qcow2.xz"]["disk"]["sha256"] =
        json!("35EB8E1F");
    let err = StreamMetadata::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Json { .. }), "{msg}");
    assert!(msg.contains("stream metadata"), "{msg}");
    assert!(msg.contains("35EB8E1F"), "{msg}");
    assert!(msg.contains("architectures.x86_64.artifacts.qemu"), "{msg}");

    let mut v = value(FCOS_STREAM);
    v["metadata"]["last-modified"] = json!("last tuesday");
    let msg = StreamMetadata::from_slice(&serde_json::to_vec(&v).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("metadata.last-modified") && msg.contains("last tuesday"),
        "{msg}"
    );

    let mut v = value(FCOS_STREAM);
    v["architectures"]["x86_64"]["artifacts"]["aws"]
        .as_object_mut()
        .unwrap()
        .remove("release");
    let msg = StreamMetadata::from_slice(&serde_json::to_vec(&v).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("release") && msg.contains("artifacts.aws"),
        "{msg}"
    );

    for bad in [&b"{"[..], b"[]", b"", &FCOS_STREAM[..100]] {
        let err = StreamMetadata::from_slice(bad).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err}");
    }
    let mut trailing = FCOS_STREAM.to_vec();
    trailing.extend_from_slice(b"{}");
    assert!(StreamMetadata::from_slice(&trailing).is_err());

    let err = Updates::from_slice(br#"{"stream":"stable","metadata":{"last-modified":"2026-07-21T14:07:12Z"},"releases":[{"version":"1","metadata":{"rollout":{"start_epoch":"soon","start_percentage":0.5}}}]}"#).unwrap_err();
    assert!(
        err.to_string().contains("releases[0].metadata.rollout"),
        "{err}"
    );

    let err = CosaBuilds::from_slice(br#"{"schema-version":"2.0.0","builds":[]}"#).unwrap_err();
    assert!(err.to_string().contains("2.0.0"), "{err}");
}
