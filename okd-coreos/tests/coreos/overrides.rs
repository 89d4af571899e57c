//! The payload tags okd-coreos overrides are the ones the machine-config-operator reads.

use okd_coreos::Variant;
use okd_coreos::overrides::OsOverrides;

const MCO_OSIMAGEURL: &str = include_str!("../data/mco-osimageurl-configmap.yaml");

#[test]
fn rhcos_tags_are_the_mco_placeholders() {
    // `oc adm release new` replaces `placeholdernamespace:<tag>` with the pullspec of `<tag>`.
    let tags = Variant::Rhcos.payload_tags();
    let ext = tags.extensions.expect("RHCOS has an extensions image");
    for (key, tag) in [
        ("baseOSContainerImage", &tags.os),
        ("baseOSExtensionsContainerImage", &ext),
    ] {
        let line = format!(
            "{key}: \"placeholder.url.oc.will.replace.this.org/placeholdernamespace:{tag}\""
        );
        assert!(MCO_OSIMAGEURL.contains(&line), "missing {line}");
    }
    let names: Vec<String> = OsOverrides::new(Variant::Rhcos, "q/os@sha256:1")
        .extensions("q/ext@sha256:2")
        .overrides()
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, [tags.os.clone(), ext]);
}

#[test]
fn okd_renames_of_the_mco_tags() {
    // The MCO's rename script turns `rhel-coreos` into `fedora-coreos` (TAGS=fcos, extensions
    // dropped) or `stream-coreos` (TAGS=scos): the tags must follow the same rule.
    let rhcos = Variant::Rhcos.payload_tags();
    let scos = Variant::Scos.payload_tags();
    assert_eq!(scos.os, rhcos.os.replace("rhel-coreos", "stream-coreos"));
    assert_eq!(
        scos.extensions,
        rhcos
            .extensions
            .map(|e| e.replace("rhel-coreos", "stream-coreos"))
    );
    let fcos = Variant::Fcos.payload_tags();
    assert_eq!(fcos.os, rhcos.os.replace("rhel-coreos", "fedora-coreos"));
    assert_eq!(fcos.extensions, None);
}
