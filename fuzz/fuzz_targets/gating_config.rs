//! The release-controller `ReleaseConfig` JSON, strict and lenient: never panics, and a config
//! that loads turns into a policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okd_gating::{GatingPolicy, ParseMode};

fuzz_target!(|data: &[u8]| {
    for mode in [ParseMode::Strict, ParseMode::Lenient] {
        if let Ok(policy) = GatingPolicy::from_json(data, "fuzz.json", mode) {
            let _ = format!("{policy:?}");
        }
    }
});
