//! The main okd-streams example: an OKD/SCOS stream on the embedded OCI layout store.

fn main() {
    println!("okd-streams OKD/SCOS stream plan:");
    for step in [
        "generate an upstream payload (testkit)",
        "layer an SCOS OS image",
        "assemble a release",
        "mirror it",
        "gate it with local verification jobs",
        "promote accepted releases to 4-scos-next",
    ] {
        println!("  - {step}");
    }
}
