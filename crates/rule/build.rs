//! Fingerprints the parser's source for the parse cache (`src/cache.rs`): a cached parse is
//! only reused by a build of the same parser and rule model, whatever the version number says.

include!("../../build/fingerprint.rs");

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!(
        "cargo:rustc-env=SIGRUN_RULE_FINGERPRINT={:016x}",
        source_fingerprint(&[dir])
    );
}
