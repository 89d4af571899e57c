//! The `okd-streams` command line.

fn main() {
    println!("okd-streams {}", env!("CARGO_PKG_VERSION"));
}
