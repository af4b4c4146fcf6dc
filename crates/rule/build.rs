//! Fingerprints the parser's source for the parse cache (`src/cache.rs`): a cached parse is
//! only reused by a build of the same parser and rule model, whatever the version number says.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir.join("src"))
        .into_iter()
        .filter_map(Result::ok)
        .map(walkdir::DirEntry::into_path)
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.push(dir.join("Cargo.toml"));
    // The workspace's lock file pins the YAML parser; absent when built as a dependency,
    // where the version requirement in Cargo.toml is all there is.
    let lock = dir.join("../../Cargo.lock");
    if lock.is_file() {
        files.push(lock.clone());
        println!("cargo:rerun-if-changed={}", lock.display());
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        file.strip_prefix(&dir).unwrap_or(file).hash(&mut hasher);
        std::fs::read(file).unwrap_or_default().hash(&mut hasher);
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!(
        "cargo:rustc-env=SIGRUN_RULE_FINGERPRINT={:016x}",
        hasher.finish()
    );
}
