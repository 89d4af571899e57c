//! The `okd-streams` binary's integration tests, one test binary: the building-block commands
//! (`release`, `mirror`, `coreos`, `gate`) and whole streams run through the binary.

mod cli_common;
mod common;

mod cli_coreos;
mod cli_gate;
mod cli_mirror;
mod cli_mirror_archive;
mod cli_mirror_imageset;
mod cli_registries_conf;
mod cli_release;
mod cli_release_layers;
mod cli_release_lint;
mod cli_release_mirror;
mod cli_release_multiarch;
mod cli_release_scripts;
mod cli_release_tools;
mod cli_sign;
mod simulate_parity;
mod stream_authfile;
mod stream_cli;
mod stream_containerfile;
mod stream_content_repository;
mod stream_demo;
mod stream_kill;
mod stream_mirror_archive;
mod stream_os_changes;
mod stream_registry;
mod stream_release_controller;
mod stream_serve;
mod stream_signing;
mod stream_stable;
mod stream_tekton_local;
mod stream_tick;
mod stream_upstream_registry;
