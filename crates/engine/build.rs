//! Fingerprints the compiler's source for compiled-rule snapshots (`src/snapshot.rs`): a
//! snapshot is only read by a build of the same compiler, pipeline resolution and rule model.

include!("../../build/fingerprint.rs");

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!(
        "cargo:rustc-env=SIGRUN_ENGINE_FINGERPRINT={:016x}",
        source_fingerprint(&[dir.clone(), dir.join("../pipeline"), dir.join("../rule")])
    );
}
