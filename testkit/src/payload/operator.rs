//! The `manifests/` directory of an operator image: Kubernetes manifests whose images are
//! placeholders and whose versions are `0.0.1-snapshot`, plus the operator's own
//! `image-references` naming the tags those placeholders stand for.

use std::fmt::Write as _;

use super::ManifestFile;
use super::names;
use super::plan::Recipe;

/// The component part of the operator's `0000_NN_<component>_` file names.
fn manifest_component(name: &str) -> String {
    if name == names::CVO {
        return name.to_string();
    }
    let s = name.strip_prefix("cluster-").unwrap_or(name);
    s.strip_suffix("-operator").unwrap_or(s).to_string()
}

fn namespace(name: &str) -> String {
    if name == names::CVO {
        return "openshift-cluster-version".to_string();
    }
    let comp = manifest_component(name);
    if name.ends_with("-operator") {
        format!("openshift-{comp}-operator")
    } else {
        format!("openshift-{comp}")
    }
}

fn env_name(tag: &str) -> String {
    format!("IMAGE_{}", tag.to_uppercase().replace('-', "_"))
}

const INCLUDE: &str = "    include.release.openshift.io/self-managed-high-availability: \"true\"\n    include.release.openshift.io/single-node-developer: \"true\"\n";

fn namespace_yaml(ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  annotations:\n{INCLUDE}    openshift.io/node-selector: \"\"\n    workload.openshift.io/allowed: management\n  labels:\n    openshift.io/cluster-monitoring: \"true\"\n    openshift.io/run-level: \"\"\n"
    )
}

fn rbac_yaml(name: &str, ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations:\n{INCLUDE}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: system:openshift:operator:{name}\n  annotations:\n{INCLUDE}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  namespace: {ns}\n  name: {name}\n"
    )
}

fn deployment_yaml(name: &str, ns: &str, recipe: &Recipe) -> String {
    let own = recipe.placeholder.pullspec(name);
    let mut env = String::new();
    env.push_str("        - name: RELEASE_VERSION\n          value: \"0.0.1-snapshot\"\n");
    let _ = write!(
        env,
        "        - name: OPERATOR_IMAGE\n          value: {own}\n"
    );
    for r in &recipe.refs {
        let _ = write!(
            env,
            "        - name: {}\n          value: \"{}\"\n",
            env_name(r),
            recipe.placeholder.pullspec(r)
        );
    }
    if recipe.refs.iter().any(|r| r == names::KUBERNETES) {
        env.push_str("        - name: OPERAND_IMAGE_VERSION\n          value: \"0.0.1-snapshot-kubernetes\"\n");
    }
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations:\n{INCLUDE}    config.openshift.io/inject-proxy: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      name: {name}\n  template:\n    metadata:\n      labels:\n        name: {name}\n    spec:\n      serviceAccountName: {name}\n      priorityClassName: system-cluster-critical\n      containers:\n      - name: {name}\n        image: {own}\n        imagePullPolicy: IfNotPresent\n        command:\n        - /usr/bin/{name}\n        args:\n        - operator\n        - --config=/var/run/configmaps/config/config.yaml\n        env:\n{env}        resources:\n          requests:\n            cpu: 10m\n            memory: 50Mi\n      nodeSelector:\n        node-role.kubernetes.io/master: \"\"\n      tolerations:\n      - key: node-role.kubernetes.io/master\n        operator: Exists\n        effect: NoSchedule\n"
    )
}

fn cluster_operator_yaml(name: &str, recipe: &Recipe) -> String {
    let comp = manifest_component(name);
    let mut versions =
        String::from("  versions:\n  - name: operator\n    version: \"0.0.1-snapshot\"\n");
    if recipe.refs.iter().any(|r| r == names::KUBERNETES) {
        let _ = write!(
            versions,
            "  - name: {comp}\n    version: \"0.0.1-snapshot-kubernetes\"\n"
        );
    }
    format!(
        "apiVersion: config.openshift.io/v1\nkind: ClusterOperator\nmetadata:\n  name: {comp}\n  annotations:\n{INCLUDE}spec: {{}}\nstatus:\n{versions}"
    )
}

fn os_image_url_yaml(recipe: &Recipe) -> String {
    let os = recipe.placeholder.pullspec(names::OS);
    let ext = if recipe.refs.iter().any(|r| r == names::OS_EXTENSIONS) {
        recipe.placeholder.pullspec(names::OS_EXTENSIONS)
    } else {
        String::new()
    };
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: machine-config-osimageurl\n  namespace: openshift-machine-config-operator\n  annotations:\n    include.release.openshift.io/ibm-cloud-managed: \"true\"\n{INCLUDE}data:\n  releaseVersion: 0.0.1-snapshot\n  baseOSContainerImage: \"{os}\"\n  baseOSExtensionsContainerImage: \"{ext}\"\n  # The OS payload used for 4.10 and below.\n  osImageURL: \"\"\n"
    )
}

/// The operator's own `image-references`: itself, then what it references.
pub(crate) fn image_references(name: &str, recipe: &Recipe) -> String {
    let mut out =
        String::from("kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n");
    for tag in std::iter::once(name).chain(recipe.refs.iter().map(String::as_str)) {
        let _ = write!(
            out,
            "  - name: {tag}\n    from:\n      kind: DockerImage\n      name: {}\n",
            recipe.placeholder.pullspec(tag)
        );
    }
    out
}

/// The manifest files of an operator (without `image-references`), sorted by file name.
pub(crate) fn manifests(name: &str, recipe: &Recipe) -> Vec<ManifestFile> {
    let ns = namespace(name);
    let mut files = vec![
        ("namespace", namespace_yaml(&ns)),
        ("rbac", rbac_yaml(name, &ns)),
        ("deployment", deployment_yaml(name, &ns, recipe)),
        ("clusteroperator", cluster_operator_yaml(name, recipe)),
    ];
    if recipe.refs.iter().any(|r| r == names::OS) {
        files.push(("osimageurl", os_image_url_yaml(recipe)));
    }
    let comp = manifest_component(name);
    let mut out: Vec<ManifestFile> = files
        .into_iter()
        .enumerate()
        .map(|(i, (what, content))| {
            let name = if recipe.prefixed_files {
                format!("0000_{:02}_{comp}_{i:02}_{what}.yaml", recipe.run_level)
            } else {
                format!("{i:02}-{what}.yaml")
            };
            ManifestFile { name, content }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
