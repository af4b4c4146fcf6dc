//! Shared test helpers: the shared folder, the corpus, rules from text.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sigrun_rule::{RuleSet, SigmaRule, SourceFile, parse_source};

/// The shared folder (`SIGRUN_SHARED` or `<workspace>/../shared`), or `None` after printing
/// one line when it is absent.
pub fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipped: no shared folder at {}", path.display());
        None
    }
}

/// The `rules*` folders of the SigmaHQ corpus, loaded in place.
pub fn corpus_rules() -> Option<RuleSet> {
    let sigma = shared()?.join("corpus/sigma");
    if !sigma.is_dir() {
        println!("skipped: no Sigma corpus at {}", sigma.display());
        return None;
    }
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&sigma)
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("rules"))
        })
        .collect();
    folders.sort();
    let (set, missing) = RuleSet::load(&folders);
    assert!(missing.is_empty(), "{missing:?}");
    Some(set)
}

/// Parses one rule document from YAML text (panics on errors: test input).
pub fn rule(yaml: &str) -> SigmaRule {
    let file = parse_source(SourceFile::new("test.yml", yaml.to_owned()));
    let errors: Vec<_> = file
        .all_diagnostics()
        .filter(|d| d.severity == sigrun_rule::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    file.documents[0].rule().expect("a rule").clone()
}

/// A rule with one selection `sel` (given as YAML lines, indented by 8) and a logsource.
pub fn selection(logsource: &str, body: &str) -> SigmaRule {
    let body: String = body.lines().map(|l| format!("        {l}\n")).collect();
    rule(&format!(
        "title: t\nid: 00000000-0000-4000-8000-000000000000\nlogsource: {logsource}\ndetection:\n    sel:\n{body}    condition: sel\n"
    ))
}

// ---------------------------------------------------------------------------------------------
// External verifiers (installed by scripts/install-verifiers.sh), shared by verify.rs and
// differential.rs.
// ---------------------------------------------------------------------------------------------

/// A verifier is missing: print one line and skip, or fail when `SIGRUN_REQUIRE_VERIFIERS` is
/// set (CI installs every verifier, so there a missing one is a broken setup, not a skip).
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("SIGRUN_REQUIRE_VERIFIERS").is_none(),
        "verifier required but missing: {why}"
    );
    println!("skipped: {why}");
}

/// Runs a checker once with all input; `None` (after printing why) when it cannot start.
pub fn run(program: &str, args: &[&str], input: &str) -> Option<String> {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            skip(&format!("cannot run {program}: {error}"));
            return None;
        }
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("checker output");
    writer.join().expect("writer").expect("write to checker");
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Runners report counts on stderr.
    print!("{}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8(output.stdout).expect("utf-8"))
}

/// Whether a Python module imports; prints a skip line when not.
pub fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(&format!(
            "python3 module '{module}' not installed (scripts/install-verifiers.sh)"
        ));
    }
    ok
}

/// The Lucene 8 core and classic query parser jars (Debian's liblucene8-java).
pub fn lucene_classpath() -> Option<String> {
    let dir = Path::new("/usr/share/java");
    let find = |prefix: &str| -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".jar"))
            })
            .collect();
        found.sort();
        found.pop()
    };
    let core = find("lucene-core-8")?;
    let parser = find("lucene-queryparser-8")?;
    Some(format!("{}:{}", core.display(), parser.display()))
}

/// Standard base64 (the Java checker reads one query per line).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The double-quoted identifiers of a SQL query: its table and columns.
pub fn sql_identifiers(query: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = query.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => in_string = !in_string,
            '"' if !in_string => {
                let mut name = String::new();
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            name.push('"');
                        } else {
                            break;
                        }
                    } else {
                        name.push(c);
                    }
                }
                out.insert(name);
            }
            _ => {}
        }
    }
    out
}

/// An in-memory SQLite database with a `regexp(pattern, value)` function, which SQLite's
/// `REGEXP` operator calls and the library does not provide. Each pattern is compiled once per
/// statement.
pub fn sqlite_with_regexp() -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().expect("sqlite");
    db.create_scalar_function(
        "regexp",
        2,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8
            | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let regex = ctx.get_or_create_aux(0, |v| {
                regex::Regex::new(v.as_str()?)
                    .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
            })?;
            let value: Option<String> = ctx.get(1)?;
            Ok(value.is_some_and(|v| regex.is_match(&v)))
        },
    )
    .expect("regexp function");
    db
}
