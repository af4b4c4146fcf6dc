//! Fingerprints the source of what a hunt's compiled-rule cache stores (`src/engine_cache.rs`):
//! the rules' metadata chosen and shaped here, and the engine compiled by the crates below. A
//! cached hunt plan is only read by a build of the same source.

include!("../../build/fingerprint.rs");

fn main() {
    emit_fingerprint(
        "SIGRUN_HUNT_FINGERPRINT",
        &["../engine", "../pipeline", "../rule", "../pack"],
    );
}
