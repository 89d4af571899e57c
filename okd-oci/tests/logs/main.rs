//! okd-oci's log-capture tests: their own test binary, because they install a process-wide
//! TRACE subscriber that would otherwise record (and slow down) every other test.

#[path = "../oci/registry_support.rs"]
mod registry_support;

mod tls_auth_logs;
