//! okd-oci's integration tests, linked as one test binary: one module per concern.

mod registry_support;

mod append;
mod hostile_registry;
mod layout;
mod registries_conf;
mod registry;
mod registry_auth;
mod registry_certs_d;
mod registry_conf_apply;
mod registry_faults;
mod registry_interop;
mod registry_mount;
mod registry_token;
mod registry_transfer;
mod retag;
