//! The independent-reader runners fail loudly: a missing program names its package, a failing
//! one shows its standard error.

use testkit::tools::{require, run};

#[test]
fn output_of_a_program_is_returned() {
    assert_eq!(run("printf", &["%s", "okd"]), b"okd");
}

#[test]
#[should_panic(expected = "apt-get install okd-streams-missing-tool")]
fn missing_program_names_its_package() {
    run("okd-streams-missing-tool", &[]);
}

#[test]
#[should_panic(expected = "no such file")]
fn failing_program_shows_its_stderr() {
    run("sh", &["-c", "echo no such file >&2; exit 3"]);
}

#[test]
#[should_panic(expected = "apt-get install okd-streams-missing-tool")]
fn require_names_the_package() {
    require("okd-streams-missing-tool");
}
