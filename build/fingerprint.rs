// Shared by the build scripts that fingerprint source for an on-disk cache (`include!`d, so
// that both hash the same way): a hash of every `.rs` file under `src` and the `Cargo.toml`
// of each given crate folder, and of the workspace's lock file, with their paths. Cargo reruns
// the script when any of them changes.

/// Sets the environment variable `name` of the crate being built to the fingerprint of that
/// crate and of the crates at `others` (paths relative to it).
fn emit_fingerprint(name: &str, others: &[&str]) {
    let dir =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut crate_dirs = vec![dir.clone()];
    crate_dirs.extend(others.iter().map(|other| dir.join(other)));
    println!("cargo:rustc-env={name}={:016x}", source_fingerprint(&crate_dirs));
}

fn source_fingerprint(crate_dirs: &[std::path::PathBuf]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in crate_dirs {
        files.extend(
            walkdir::WalkDir::new(dir.join("src"))
                .into_iter()
                .filter_map(Result::ok)
                .map(walkdir::DirEntry::into_path)
                .filter(|path| path.extension().is_some_and(|e| e == "rs")),
        );
        files.push(dir.join("Cargo.toml"));
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!("cargo:rerun-if-changed={}", dir.join("Cargo.toml").display());
    }
    // The workspace's lock file pins the dependencies; absent when built as a dependency,
    // where the version requirements in Cargo.toml are all there is.
    if let Some(lock) = crate_dirs
        .first()
        .map(|dir| dir.join("../../Cargo.lock"))
        .filter(|lock| lock.is_file())
    {
        println!("cargo:rerun-if-changed={}", lock.display());
        files.push(lock);
    }
    let base = crate_dirs.first().cloned().unwrap_or_default();
    let mut named: Vec<(String, std::path::PathBuf)> = files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&base)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            (name, path)
        })
        .collect();
    named.sort();
    let mut hasher = DefaultHasher::new();
    for (name, path) in &named {
        name.hash(&mut hasher);
        std::fs::read(path).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}
