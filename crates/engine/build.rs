//! Fingerprints the compiler's source for compiled-rule snapshots (`src/snapshot.rs`): a
//! snapshot is only read by a build of the same compiler, pipeline resolution and rule model.

include!("../../build/fingerprint.rs");

fn main() {
    emit_fingerprint("SIGRUN_ENGINE_FINGERPRINT", &["../pipeline", "../rule"]);
}
