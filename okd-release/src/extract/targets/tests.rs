use super::*;

fn all_images(_: &str) -> bool {
    true
}

fn names(s: &Selection) -> Vec<String> {
    s.targets
        .iter()
        .map(|t| t.file_name("4.19.0-okd-scos.1"))
        .collect()
}

#[test]
fn command_os_spellings() {
    assert_eq!("*".parse::<CommandOs>().unwrap(), CommandOs::All);
    assert_eq!(
        "mac".parse::<CommandOs>().unwrap(),
        CommandOs::One {
            os: "darwin".into(),
            arch: "amd64".into()
        }
    );
    assert_eq!(
        "linux/arm64".parse::<CommandOs>().unwrap().to_string(),
        "linux/arm64"
    );
    assert_eq!(
        "linux/arm64/v8".parse::<CommandOs>().unwrap_err(),
        TargetError::InvalidCommandOs("linux/arm64/v8".into())
    );
}

#[test]
fn the_release_architecture_entry_wins_over_its_named_duplicate() {
    let os: CommandOs = "linux/amd64".parse().unwrap();
    let s = select(Some("openshift-install"), &os, "amd64", all_images).unwrap();
    assert_eq!(s.targets.len(), 1);
    assert_eq!(s.targets[0].entry.image, "installer");
    assert!(!s.archives);
    // Another architecture than the release's comes from the artifacts image.
    let os: CommandOs = "linux/arm64".parse().unwrap();
    let s = select(Some("openshift-install"), &os, "amd64", all_images).unwrap();
    assert_eq!(s.targets[0].entry.image, "installer-artifacts");
    assert_eq!(
        s.targets[0].entry.path,
        "usr/share/openshift/linux_arm64/openshift-install"
    );
}

#[test]
fn tools_for_every_system_are_archives_without_the_optional_installers() {
    let s = select(None, &CommandOs::All, "amd64", all_images).unwrap();
    let n = names(&s);
    assert!(s.archives);
    assert!(n.contains(&"openshift-client-windows-4.19.0-okd-scos.1.zip".to_string()));
    assert!(n.contains(&"openshift-install-linux-4.19.0-okd-scos.1.tar.gz".to_string()));
    assert!(n.contains(&"ccoctl-linux-4.19.0-okd-scos.1.tar.gz".to_string()));
    assert!(
        !n.iter()
            .any(|f| f.contains("baremetal") || f.contains("-rhel-"))
    );
    // linux/amd64 is the release's own architecture: only its release-architecture entries.
    assert!(!n.contains(&"openshift-client-linux-amd64-4.19.0-okd-scos.1.tar.gz".to_string()));
    assert!(n.contains(&"openshift-client-linux-amd64-rhel9-4.19.0-okd-scos.1.tar.gz".to_string()));
    let windows = s.targets.iter().find(|t| t.entry.os == "windows").unwrap();
    assert!(windows.zip);
    assert_eq!(windows.member_name(), "oc.exe");
}

#[test]
fn a_command_without_a_system_is_a_plain_binary_named_after_it() {
    let os: CommandOs = "windows".parse().unwrap();
    let s = select(Some("oc"), &os, "amd64", all_images).unwrap();
    assert_eq!(names(&s), ["oc"]);
    assert!(!s.targets[0].zip);
    let s = select(
        Some("oc.rhel9"),
        &"linux".parse().unwrap(),
        "amd64",
        all_images,
    )
    .unwrap();
    assert_eq!(names(&s), ["oc"]);
}

#[test]
fn missing_images_are_reported_as_oc_reports_them() {
    let has = |tag: &str| tag == "installer";
    let s = select(None, &"linux/amd64".parse().unwrap(), "amd64", has).unwrap();
    assert_eq!(
        names(&s),
        ["openshift-install-linux-4.19.0-okd-scos.1.tar.gz"]
    );
    assert_eq!(
        s.warning().unwrap(),
        "warning: Some commands can not be extracted due to missing images: cli, cli-artifacts"
    );
    let none = |_: &str| false;
    assert_eq!(
        select(
            Some("openshift-install"),
            &"linux/amd64".parse().unwrap(),
            "amd64",
            none
        )
        .unwrap_err()
        .to_string(),
        "the image \"installer\" containing the desired command is not available"
    );
    assert_eq!(
        select(
            Some("kubectl"),
            &"linux".parse().unwrap(),
            "amd64",
            all_images
        )
        .unwrap_err()
        .to_string(),
        "command \"kubectl\" does not exist in targets or does not support the operating system \"linux\""
    );
    assert_eq!(
        select(
            Some("ccoctl"),
            &"darwin/amd64".parse().unwrap(),
            "amd64",
            all_images
        )
        .unwrap_err()
        .to_string(),
        "the command 'ccoctl' is not available for darwin/amd64"
    );
}
