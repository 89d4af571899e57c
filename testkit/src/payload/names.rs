//! The real OKD components the first tags of a synthetic payload are named after.
//!
//! Names are `image-references` tag names of OKD/SCOS payloads; `repo` is the
//! `github.com/openshift/<repo>` source each is built from (components built from the same
//! repository share a commit, as they do in real payloads); `refs` are the other tags an
//! operator's own `manifests/image-references` names, after the operator itself. The order puts
//! the components every test needs first, so that small payloads stay coherent.

/// What a named component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An ordinary image.
    Image,
    /// An operator: top layer `manifests/`, label `io.openshift.release.operator=true`.
    Operator {
        /// CVO run level of its manifests (`0000_<NN>_...`).
        run_level: u8,
    },
    /// The OS image (`stream-coreos`).
    Os,
    /// The OS extensions image (`stream-coreos-extensions`).
    OsExtensions,
}

/// A real component.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Named {
    pub name: &'static str,
    pub repo: &'static str,
    pub role: Role,
    pub refs: &'static [&'static str],
}

const fn image(name: &'static str, repo: &'static str) -> Named {
    Named {
        name,
        repo,
        role: Role::Image,
        refs: &[],
    }
}

const fn operator(
    name: &'static str,
    repo: &'static str,
    run_level: u8,
    refs: &'static [&'static str],
) -> Named {
    Named {
        name,
        repo,
        role: Role::Operator { run_level },
        refs,
    }
}

/// The tag of the release base image.
pub(crate) const CVO: &str = "cluster-version-operator";
/// The OS image tag of SCOS payloads.
pub(crate) const OS: &str = "stream-coreos";
/// The OS extensions tag of SCOS payloads.
pub(crate) const OS_EXTENSIONS: &str = "stream-coreos-extensions";
/// The component stored as a multi-arch manifest list.
pub(crate) const MULTI_ARCH: &str = "cli";
/// The component carrying the `kubernetes` version.
pub(crate) const KUBERNETES: &str = "hyperkube";

pub(crate) const NAMED: &[Named] = &[
    operator(
        CVO,
        "cluster-version-operator",
        0,
        &["cluster-update-console-plugin"],
    ),
    Named {
        name: OS,
        repo: "os",
        role: Role::Os,
        refs: &[],
    },
    Named {
        name: OS_EXTENSIONS,
        repo: "os",
        role: Role::OsExtensions,
        refs: &[],
    },
    operator(
        "machine-config-operator",
        "machine-config-operator",
        80,
        &[
            "pod",
            "oauth-proxy",
            "kube-rbac-proxy",
            OS,
            OS_EXTENSIONS,
            "keepalived-ipfailover",
            "coredns",
            "haproxy-router",
            "baremetal-runtimecfg",
            "docker-registry",
        ],
    ),
    image(MULTI_ARCH, "oc"),
    image("installer", "installer"),
    image(KUBERNETES, "kubernetes"),
    image("pod", "kubernetes"),
    operator(
        "cluster-kube-apiserver-operator",
        "cluster-kube-apiserver-operator",
        20,
        &[KUBERNETES],
    ),
    image("etcd", "etcd"),
    operator(
        "cluster-etcd-operator",
        "cluster-etcd-operator",
        12,
        &["etcd"],
    ),
    image("oauth-server", "oauth-server"),
    operator(
        "cluster-authentication-operator",
        "cluster-authentication-operator",
        50,
        &["oauth-server"],
    ),
    image("console", "console"),
    operator("console-operator", "console-operator", 50, &["console"]),
    image("ovn-kubernetes", "ovn-kubernetes"),
    image("multus-cni", "multus-cni"),
    operator(
        "cluster-network-operator",
        "cluster-network-operator",
        70,
        &["ovn-kubernetes", "multus-cni", "kube-rbac-proxy"],
    ),
    image("haproxy-router", "router"),
    operator(
        "cluster-ingress-operator",
        "cluster-ingress-operator",
        50,
        &["haproxy-router"],
    ),
    image("coredns", "coredns"),
    operator(
        "cluster-dns-operator",
        "cluster-dns-operator",
        70,
        &["coredns", "kube-rbac-proxy"],
    ),
    image("tools", "oc"),
    image("must-gather", "must-gather"),
    image("prometheus", "prometheus"),
    image("prometheus-operator", "prometheus-operator"),
    operator(
        "cluster-monitoring-operator",
        "cluster-monitoring-operator",
        50,
        &["prometheus", "prometheus-operator", "kube-rbac-proxy"],
    ),
    image("docker-registry", "image-registry"),
    operator(
        "cluster-image-registry-operator",
        "cluster-image-registry-operator",
        50,
        &["docker-registry"],
    ),
    image("aws-ebs-csi-driver", "aws-ebs-csi-driver"),
    operator(
        "cluster-storage-operator",
        "cluster-storage-operator",
        50,
        &["aws-ebs-csi-driver"],
    ),
    operator(
        "cluster-samples-operator",
        "cluster-samples-operator",
        50,
        &[],
    ),
    image("installer-artifacts", "installer"),
    image("baremetal-installer", "installer"),
    image("ironic", "ironic-image"),
    image("openshift-apiserver", "openshift-apiserver"),
    operator(
        "cluster-openshift-apiserver-operator",
        "cluster-openshift-apiserver-operator",
        50,
        &["openshift-apiserver"],
    ),
    operator("cluster-config-operator", "cluster-config-operator", 3, &[]),
    image("cluster-policy-controller", "cluster-policy-controller"),
    operator(
        "cluster-kube-controller-manager-operator",
        "cluster-kube-controller-manager-operator",
        25,
        &[KUBERNETES, "cluster-policy-controller"],
    ),
    operator(
        "cluster-kube-scheduler-operator",
        "cluster-kube-scheduler-operator",
        25,
        &[KUBERNETES],
    ),
    image("operator-registry", "operator-framework-olm"),
    operator(
        "operator-lifecycle-manager",
        "operator-framework-olm",
        50,
        &["operator-registry"],
    ),
    operator("service-ca-operator", "service-ca-operator", 50, &[]),
    operator("insights-operator", "insights-operator", 50, &[]),
    operator(
        "cluster-autoscaler-operator",
        "cluster-autoscaler-operator",
        50,
        &[],
    ),
    operator(
        "cluster-machine-approver",
        "cluster-machine-approver",
        50,
        &["kube-rbac-proxy"],
    ),
    operator(
        "machine-api-operator",
        "machine-api-operator",
        30,
        &["kube-rbac-proxy"],
    ),
    operator(
        "cluster-node-tuning-operator",
        "cluster-node-tuning-operator",
        50,
        &[],
    ),
    image("keepalived-ipfailover", "images"),
    image("kube-rbac-proxy", "kube-rbac-proxy"),
    image("oauth-proxy", "oauth-proxy"),
    image("csi-snapshot-controller", "csi-external-snapshotter"),
    operator(
        "cluster-csi-snapshot-controller-operator",
        "cluster-csi-snapshot-controller-operator",
        50,
        &["csi-snapshot-controller"],
    ),
    operator(
        "cluster-cloud-controller-manager-operator",
        "cluster-cloud-controller-manager-operator",
        30,
        &["kube-rbac-proxy"],
    ),
    image("machine-os-images", "machine-os-images"),
    image("driver-toolkit", "driver-toolkit"),
    image("cluster-bootstrap", "cluster-bootstrap"),
    image("deployer", "oc"),
    operator(
        "cluster-olm-operator",
        "cluster-olm-operator",
        50,
        &["operator-registry"],
    ),
    image(
        "cluster-update-console-plugin",
        "cluster-update-console-plugin",
    ),
    image("baremetal-runtimecfg", "baremetal-runtimecfg"),
];

/// The name of the `index`-th (1-based) synthetic component.
pub(crate) fn synthetic_name(index: usize, operator: bool) -> String {
    if operator {
        format!("component-{index:03}-operator")
    } else {
        format!("component-{index:03}")
    }
}

/// The index of a synthetic component name, if it is one.
pub(crate) fn synthetic_index(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("component-")?;
    let digits = rest.strip_suffix("-operator").unwrap_or(rest);
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_refs_resolve() {
        let names: std::collections::BTreeSet<_> = NAMED.iter().map(|n| n.name).collect();
        assert_eq!(names.len(), NAMED.len());
        for n in NAMED {
            for r in n.refs {
                assert!(names.contains(r), "{} refers to unknown {r}", n.name);
                assert_ne!(*r, n.name, "{} lists itself", n.name);
            }
        }
    }

    #[test]
    fn synthetic_names_round_trip() {
        assert_eq!(synthetic_index(&synthetic_name(61, false)), Some(61));
        assert_eq!(synthetic_index(&synthetic_name(1234, true)), Some(1234));
        assert_eq!(synthetic_index("cli"), None);
    }
}
