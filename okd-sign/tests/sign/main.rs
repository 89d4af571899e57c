//! okd-sign against real OpenPGP tools: signatures made here verify with gpg and skopeo,
//! signatures made by skopeo verify here, and every bad input is refused by name.

mod claims;
mod configmaps;
mod interop;
mod refusals;
mod stores;
mod support;
