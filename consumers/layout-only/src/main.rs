//! `okd-layout-consumer oci:DIR:REPO:TAG`: prints the name and component count of a release
//! read from an OCI layout.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(arg) = std::env::args().nth(1) else {
        eprintln!("usage: okd-layout-consumer oci:DIR:REPO:TAG");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = runtime.block_on(async {
        let image: okd_oci::ImageRef = arg.parse()?;
        okd_layout_consumer::load_release(&image).await
    });
    match loaded {
        Ok(release) => {
            println!("{} {}", release.name, release.components.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
