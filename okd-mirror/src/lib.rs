//! Mirroring of OKD release payloads between registries and OCI layouts.
#![deny(missing_docs)]
