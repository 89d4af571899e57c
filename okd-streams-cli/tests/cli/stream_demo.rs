//! The main example's code path on a fresh temporary directory: a promoted release, readable by
//! skopeo from the layout it leaves.

#[allow(dead_code)]
#[path = "../../../examples/okd_scos_stream.rs"]
mod demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_example_promotes_a_release_skopeo_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("okd-demo");
    let verifier = demo::Verifier {
        program: env!("CARGO_BIN_EXE_okd-streams").into(),
        args: vec!["stream".into(), "verify".into()],
    };
    let out = demo::run(&dir, None, &verifier).await.unwrap();
    assert_eq!(out.releases.len(), 3, "{out:?}");
    assert_eq!(
        out.promoted.as_deref(),
        out.releases.last().map(String::as_str)
    );
    let reference = out.inspect.expect("a promoted release");
    let skopeo = testkit::tools::skopeo(&["inspect", &reference]);
    let info: serde_json::Value = serde_json::from_slice(&skopeo).unwrap();
    assert_eq!(
        info["Labels"]["io.openshift.release"].as_str(),
        out.promoted.as_deref()
    );
}
