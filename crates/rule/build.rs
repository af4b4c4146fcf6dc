//! Fingerprints the parser's source for the parse cache (`src/cache.rs`): a cached parse is
//! only reused by a build of the same parser and rule model, whatever the version number says.

include!("../../build/fingerprint.rs");

fn main() {
    emit_fingerprint("SIGRUN_RULE_FINGERPRINT", &[]);
}
