//! `sigrun hunt` end to end: the bundled samples, output formats, determinism, filters, bad
//! input and exit codes, and the built-in pack on real attack captures of the shared corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{shared_with, sigrun, stdout};

/// The alerts of a JSON Lines hunt as parsed objects.
fn alerts(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect()
}

/// `rule file stem → sorted record ids` of a JSON Lines hunt.
fn by_rule(alerts: &[serde_json::Value]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for alert in alerts {
        let path = alert["rule"]["path"].as_str().expect("rule path");
        let stem = path
            .trim_start_matches("builtin/")
            .trim_end_matches(".yml")
            .to_string();
        out.entry(stem)
            .or_default()
            .push(alert["record_id"].as_u64().expect("record id"));
    }
    for records in out.values_mut() {
        records.sort_unstable();
    }
    out
}

fn expected(entries: &[(&str, &[u64])]) -> BTreeMap<String, Vec<u64>> {
    entries
        .iter()
        .map(|(rule, records)| (rule.to_string(), records.to_vec()))
        .collect()
}

const JSONL: &[&str] = &[
    "hunt",
    "--format",
    "jsonl",
    "--no-summary",
    "--progress",
    "never",
];

fn hunt_jsonl(extra: &[&str]) -> Output {
    let mut args = JSONL.to_vec();
    args.extend_from_slice(extra);
    sigrun(&args)
}

#[test]
fn samples_table_is_stable() {
    let output = sigrun(&["hunt", "--progress", "never", "samples/"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    insta::assert_snapshot!("hunt_samples_table", stdout(&output));
}

#[test]
fn samples_jsonl_carries_rule_metadata_and_the_event() {
    let output = hunt_jsonl(&["samples/"]);
    assert_eq!(output.status.code(), Some(1));
    let alerts = alerts(&output);
    assert_eq!(alerts.len(), 23);
    for alert in &alerts {
        let rule = &alert["rule"];
        for key in ["id", "title", "author", "level", "path"] {
            assert!(rule[key].is_string(), "rule.{key} missing in {alert}");
        }
        assert_eq!(rule["author"], "sigrun project");
        assert!(alert["event"]["Event"]["System"].is_object(), "{alert}");
        assert_eq!(alert["file"], "samples/wmi-persistence.jsonl");
    }
    insta::assert_snapshot!("hunt_samples_rules", format!("{:#?}", by_rule(&alerts)));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let one = hunt_jsonl(&["-j", "1", "samples/"]);
    let csv_one = sigrun(&[
        "hunt",
        "--format",
        "csv",
        "--no-summary",
        "-j",
        "1",
        "samples/",
    ]);
    let csv_two = sigrun(&[
        "hunt",
        "--format",
        "csv",
        "--no-summary",
        "-j",
        "2",
        "samples/",
    ]);
    let two = hunt_jsonl(&["-j", "2", "samples/"]);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(csv_one.stdout, csv_two.stdout);
    let csv = stdout(&csv_one);
    assert!(csv.starts_with("timestamp,computer,channel,event_id,record_id,level,rule_title,rule_id,rule_author,tags,file,location,details,event\n"));
    let records = csv::Reader::from_reader(csv.as_bytes()).records().count();
    assert_eq!(records, 23);
}

#[test]
fn output_does_not_depend_on_the_scan_memo() {
    let default = hunt_jsonl(&["samples/"]);
    assert_eq!(alerts(&default).len(), 23);
    for size in ["0", "1", "64"] {
        let other = hunt_jsonl(&["--scan-memo", size, "samples/"]);
        assert_eq!(default.stdout, other.stdout, "--scan-memo {size}");
    }
    let refused = sigrun(&["hunt", "--scan-memo", "-1", "samples/"]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn filters_narrow_the_rules() {
    let all = alerts(&hunt_jsonl(&["samples/"]));
    let high = alerts(&hunt_jsonl(&["--min-level", "high", "samples/"]));
    assert!(!high.is_empty() && high.len() < all.len());
    assert!(
        high.iter()
            .all(|a| matches!(a["rule"]["level"].as_str(), Some("high" | "critical")))
    );
    let id = all[0]["rule"]["id"].as_str().expect("id");
    let one_rule = alerts(&hunt_jsonl(&["--rule-id", id, "samples/"]));
    assert!(!one_rule.is_empty());
    assert!(one_rule.iter().all(|a| a["rule"]["id"] == id));
    let none = hunt_jsonl(&["--tag", "attack.t1003", "samples/"]);
    assert_eq!(none.status.code(), Some(2), "no rule left is a failed run");
}

#[test]
fn bad_input_is_skipped_counted_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/wmi-persistence.jsonl"),
    )
    .expect("samples");
    let mut broken = Vec::new();
    for (i, line) in samples.lines().enumerate() {
        broken.extend_from_slice(line.as_bytes());
        broken.push(b'\n');
        if i == 3 {
            broken.extend_from_slice(b"{\"Event\": {\"System\": \n");
            broken.extend_from_slice(b"\xff\xfe not text\n");
        }
    }
    let path = dir.path().join("broken.jsonl");
    std::fs::write(&path, broken).expect("write");
    let output = hunt_jsonl(&[path.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(4), "alerts and problems");
    assert_eq!(alerts(&output).len(), 23, "every good event is still read");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.jsonl"), "{stderr}");

    let clean = tempfile::tempdir().expect("tempdir");
    let benign = clean.path().join("benign.jsonl");
    std::fs::write(&benign, samples.lines().next().expect("a line")).expect("write");
    let output = hunt_jsonl(&[benign.to_str().expect("path")]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let missing = hunt_jsonl(&["no/such/file.evtx"]);
    assert_eq!(missing.status.code(), Some(3));
}

/// In a folder, a file that is no log is skipped without a word, and one that cannot be read
/// (here a link to nothing) is reported by path and counted (exit 4: alerts and problems);
/// the logs beside them are read.
#[test]
fn an_unreadable_file_in_a_folder_is_reported_and_the_rest_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/wmi-persistence.jsonl");
    std::fs::copy(&samples, dir.path().join("a.jsonl")).expect("copy");
    std::fs::write(dir.path().join("README.md"), "notes\n").expect("write");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("b.evtx"))
        .expect("link");
    let output = hunt_jsonl(&[dir.path().to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert_eq!(alerts(&output).len(), 23, "the log beside it is read whole");
    let link = dir.path().join("b.evtx").display().to_string();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&link) && l.contains("skipped: unreadable")),
        "{stderr}"
    );
    assert!(!stderr.contains("README"), "{stderr}");
}

#[test]
fn broken_rules_are_listed_not_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: Broken\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|nope: x\n    condition: sel\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("linux.yml"),
        "title: Linux Rule\nlogsource: {product: linux, category: process_creation}\ndetection:\n    sel:\n        Image: x\n    condition: sel\n",
    )
    .expect("write");
    let rules = dir.path().to_str().expect("path");
    let output = hunt_jsonl(&["--rules", rules, "--builtin", "samples/"]);
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yml:5:15 (Broken): unknown modifier 'nope'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("linux.yml (Linux Rule): no source in pipeline 'windows'"),
        "{stderr}"
    );
    assert_eq!(alerts(&output).len(), 23);
}

#[test]
fn pack_on_security_datasets_wmi_captures() {
    let Some(shared) = shared_with("corpus") else {
        return;
    };
    let excerpts = shared.join("corpus/security-datasets/excerpts");
    let persist = excerpts.join("covenant_persistwmi.key-events.jsonl");
    let output = hunt_jsonl(&[persist.to_str().expect("path")]);
    assert_eq!(
        by_rule(&alerts(&output)),
        expected(&[
            ("sysmon_wmi_event_filter_registered", &[219662]),
            ("sysmon_wmi_active_consumer_registered", &[219666]),
            ("sysmon_wmi_active_consumer_bound", &[219673]),
            ("wmi_activity_active_consumer_binding", &[568]),
            ("wmi_activity_permanent_filter_trigger", &[570]),
        ])
    );
    let remote = excerpts
        .join("covenant_wmi_remote_event_subscription_ActiveScriptEventConsumers.key-events.jsonl");
    let output = hunt_jsonl(&[remote.to_str().expect("path")]);
    assert_eq!(
        by_rule(&alerts(&output)),
        expected(&[
            ("sysmon_wmi_event_filter_registered", &[430265]),
            ("sysmon_wmi_active_consumer_bound", &[430469]),
            ("wmi_activity_active_consumer_binding", &[421]),
            ("wmi_activity_consumer_provider_started", &[423]),
            ("scrcons_process_start", &[120461, 431364]),
        ])
    );
}

#[test]
fn pack_is_quiet_on_other_security_datasets() {
    let Some(shared) = shared_with("corpus") else {
        return;
    };
    let datasets = shared.join("corpus/security-datasets");
    let output = hunt_jsonl(&[datasets.to_str().expect("path")]);
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    for alert in alerts(&output) {
        let file = alert["file"].as_str().expect("file");
        let name = Path::new(file)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        *files.entry(name).or_default() += 1;
    }
    for name in files.keys() {
        assert!(
            name.contains("covenant_persistwmi")
                || name.contains("covenant_wmi_remote_event_subscription"),
            "unexpected alerts in {name}: {files:?}"
        );
    }
    assert!(!files.is_empty());
}

#[test]
fn pack_on_evtx_attack_samples() {
    let Some(shared) = shared_with("corpus") else {
        return;
    };
    let samples = shared.join("corpus/evtx-attack-samples");
    let file = |p: &str| samples.join(p).to_str().expect("path").to_string();
    let output = hunt_jsonl(&[&file(
        "Persistence/sysmon_20_21_1_CommandLineEventConsumer.evtx",
    )]);
    assert_eq!(
        by_rule(&alerts(&output)),
        expected(&[
            ("wmic_event_subscription_create", &[16110, 16113, 16114]),
            ("sysmon_wmi_active_consumer_registered", &[16111]),
            ("sysmon_wmi_active_consumer_bound", &[16112]),
            ("sysmon_wmi_event_filter_registered", &[16115]),
            ("wmi_host_spawns_shell", &[16116]),
        ])
    );
    let output = hunt_jsonl(&[&file("Persistence/wmighost_sysmon_20_21_1.evtx")]);
    assert_eq!(
        by_rule(&alerts(&output)),
        expected(&[
            ("sysmon_wmi_active_consumer_registered", &[7195]),
            ("sysmon_wmi_active_consumer_bound", &[7197]),
            ("scrcons_process_start", &[7203]),
        ])
    );
    let output = hunt_jsonl(&[&file(
        "AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
    )]);
    assert_eq!(
        by_rule(&alerts(&output)),
        expected(&[
            ("sysmon_wmi_event_filter_registered", &[4055]),
            ("sysmon_wmi_active_consumer_registered", &[4056]),
            ("sysmon_wmi_active_consumer_bound", &[4057]),
        ])
    );
    // Over the whole collection, the only other alerts are WMI-launched shells (T1047).
    let output = hunt_jsonl(&[samples.to_str().expect("path")]);
    let mut per_file: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for alert in alerts(&output) {
        let path = alert["file"].as_str().expect("file");
        let name = Path::new(path)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let rule = alert["rule"]["path"].as_str().expect("rule").to_string();
        *per_file.entry(name).or_default().entry(rule).or_default() += 1;
    }
    insta::assert_snapshot!("hunt_evtx_attack_samples_pack", format!("{per_file:#?}"));
}

/// `hunt` of `samples/` with these rule folders, alerts as JSON Lines.
fn jsonl_hunt_of_samples<'a>(rule_folders: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["hunt", "-f", "jsonl", "--progress", "never"];
    for folder in rule_folders {
        args.extend(["-r", folder]);
    }
    args.push("samples/");
    args
}

/// Runs sigrun at the repository root with its parse cache in `cache` ("" turns it off).
fn sigrun_cached(cache: &Path, args: &[&str]) -> Output {
    common::sigrun_cached(&common::repo_root(), cache, args)
}

#[test]
fn the_parse_cache_never_changes_the_output() {
    let Some(shared) = shared_with("corpus/sigma/rules/windows") else {
        return;
    };
    let rules_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        rules_dir.path().join("bad.yml"),
        "title: Broken\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|nope: x\n    condition: sel\n",
    )
    .expect("write");
    let windows = shared.join("corpus/sigma/rules/windows");
    let args = jsonl_hunt_of_samples(&[
        windows.to_str().expect("path"),
        rules_dir.path().to_str().expect("path"),
    ]);
    let cache = tempfile::tempdir().expect("tempdir");
    let file = cache.path().join("rule-parses.bin");
    // The built-in pack alone is embedded: no cache to read or write.
    let pack = sigrun_cached(cache.path(), &["hunt", "samples/"]);
    assert_eq!(pack.status.code(), Some(1));
    assert!(!file.exists());
    assert!(compiled_sets(cache.path()).is_empty());
    let without = sigrun_cached(Path::new(""), &args);
    assert!(!file.exists());
    let cold = sigrun_cached(cache.path(), &args);
    assert!(file.is_file(), "the first run writes the cache");
    let written = std::fs::metadata(&file).expect("cache").modified().ok();
    let warm = sigrun_cached(cache.path(), &args);
    assert_eq!(
        std::fs::metadata(&file).expect("cache").modified().ok(),
        written,
        "a run that parsed nothing new leaves the cache alone"
    );
    let mut flag = args.to_vec();
    flag.insert(1, "--no-cache");
    let no_cache = sigrun_cached(cache.path(), &flag);

    let stderr = String::from_utf8_lossy(&without.stderr).into_owned();
    assert!(
        stderr.contains("bad.yml:5:15 (Broken): unknown modifier 'nope'"),
        "{stderr}"
    );
    assert!(alerts(&without).len() >= 23);
    for (name, run) in [("cold", &cold), ("warm", &warm), ("--no-cache", &no_cache)] {
        assert_eq!(run.status.code(), without.status.code(), "{name}");
        assert_eq!(run.stdout, without.stdout, "{name}");
        assert_eq!(String::from_utf8_lossy(&run.stderr), stderr, "{name}");
    }

    // A damaged cache: a warning, the same alerts, and a good cache again afterwards. (The
    // compiled rules are removed first: a hunt that finds them reads no parse.)
    for compiled in compiled_sets(cache.path()) {
        std::fs::remove_file(compiled).expect("remove");
    }
    flip_middle_byte(&file);
    let damaged = sigrun_cached(cache.path(), &args);
    assert_eq!(damaged.stdout, without.stdout);
    let warning = String::from_utf8_lossy(&damaged.stderr);
    assert!(
        warning.contains("warning: parse cache") && warning.contains("damaged"),
        "{warning}"
    );
    let again = sigrun_cached(cache.path(), &args);
    assert_eq!(String::from_utf8_lossy(&again.stderr), stderr);

    // A cache folder that cannot be made (a file is in its place): warnings that it cannot be
    // read or written, then the same messages, alerts and exit code.
    let blocked = cache.path().join("blocked");
    std::fs::write(&blocked, b"a file").expect("write");
    let unwritable = sigrun_cached(&blocked, &args);
    assert_eq!(unwritable.stdout, without.stdout);
    assert_eq!(unwritable.status.code(), without.status.code());
    let warning = String::from_utf8_lossy(&unwritable.stderr);
    let (warnings, rest): (Vec<&str>, Vec<&str>) = warning.lines().partition(|line| {
        line.starts_with("warning: parse cache ")
            || line.starts_with("warning: compiled-rule cache ")
            || line.starts_with("warning: rule digest index ")
    });
    assert_eq!(rest, stderr.lines().collect::<Vec<_>>());
    for cache in ["parse cache", "compiled-rule cache", "rule digest index"] {
        assert!(
            warnings.iter().any(|w| w.contains(cache)
                && w.contains("blocked")
                && w.contains(" not written: ")),
            "{warning}"
        );
    }
}

/// The compiled rule sets in a cache folder.
/// Damages the cache file `file`, then hunts twice with `args`: the first run warns
/// (`warning` ... `reason`) and gives the alerts of `without`, the second (after the file was
/// written again) says no more than `without`.
fn damage_is_reported_once(
    cache: &Path,
    args: &[&str],
    without: &Output,
    file: &Path,
    warning: &str,
    reason: &str,
) {
    flip_middle_byte(file);
    let damaged = sigrun_cached(cache, args);
    assert!(damaged.stdout == without.stdout, "damaged: other alerts");
    let said = String::from_utf8_lossy(&damaged.stderr);
    assert!(said.contains(warning) && said.contains(reason), "{said}");
    let again = sigrun_cached(cache, args);
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        String::from_utf8_lossy(&without.stderr)
    );
}

/// Damages a cache file as a bad sector would: one bit in its middle.
fn flip_middle_byte(file: &Path) {
    let mut bytes = std::fs::read(file).expect("cache file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(file, &bytes).expect("write");
}

fn compiled_sets(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.starts_with("compiled-") && name.ends_with(".bin")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn the_compiled_rule_cache_never_changes_the_output() {
    // The built-in pack's rules as a rule folder of the test's own.
    let rules = tempfile::tempdir().expect("tempdir");
    let pack = common::repo_root().join("crates/pack/rules");
    for entry in std::fs::read_dir(&pack).expect("pack rules") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".yml") && !name.ends_with(".tests.yml") {
            std::fs::copy(&path, rules.path().join(&name)).expect("copy");
        }
    }
    let args = jsonl_hunt_of_samples(&[rules.path().to_str().expect("path")]);
    let cache = tempfile::tempdir().expect("tempdir");
    let without = sigrun_cached(Path::new(""), &args);
    assert_eq!(without.status.code(), Some(1));
    assert!(alerts(&without).len() >= 10);
    let cold = sigrun_cached(cache.path(), &args);
    let written = compiled_sets(cache.path());
    assert_eq!(
        written.len(),
        1,
        "the first run writes the compiled rule set"
    );
    let warm = sigrun_cached(cache.path(), &args);
    assert_eq!(compiled_sets(cache.path()), written);
    for (name, run) in [("cold", &cold), ("warm", &warm)] {
        assert_eq!(run.status.code(), without.status.code(), "{name}");
        assert!(run.stdout == without.stdout, "run: other alerts ({name})");
        assert_eq!(
            String::from_utf8_lossy(&run.stderr),
            String::from_utf8_lossy(&without.stderr),
            "{name}"
        );
    }

    // A hunt that finds its compiled rules parses nothing: it does not even read the parse
    // cache (nor write it again).
    let parses = cache.path().join("rule-parses.bin");
    assert!(parses.is_file());
    std::fs::remove_file(&parses).expect("remove");
    let compiled_only = sigrun_cached(cache.path(), &args);
    assert!(
        compiled_only.stdout == without.stdout,
        "compiled only: other alerts"
    );
    assert!(!parses.exists());

    // Another selection of the same files is another rule set.
    let mut high = args.to_vec();
    high.splice(1..1, ["--min-level", "high"]);
    let high_without = sigrun_cached(Path::new(""), &high);
    assert!(alerts(&high_without).len() < alerts(&without).len());
    let high_cold = sigrun_cached(cache.path(), &high);
    let high_warm = sigrun_cached(cache.path(), &high);
    assert_eq!(compiled_sets(cache.path()).len(), 2);
    for run in [&high_cold, &high_warm] {
        assert!(
            run.stdout == high_without.stdout,
            "--min-level high: other alerts"
        );
        assert_eq!(run.stderr, high_without.stderr);
    }
    std::fs::remove_file(&compiled_sets(cache.path())[0]).expect("remove");
    std::fs::remove_file(&compiled_sets(cache.path())[0]).expect("remove");
    let _ = sigrun_cached(cache.path(), &args);
    let written = compiled_sets(cache.path());

    // The file is read: damaged, it is a warning, the same alerts, and written again.
    damage_is_reported_once(
        cache.path(),
        &args,
        &without,
        &written[0],
        "warning: compiled-rule cache ",
        "damaged (bad checksum); compiling the rules",
    );

    // A changed rule is a new rule set: its own compiled file, and the changed rule's
    // alerts, exactly as without the cache (one value: a parent no sample has).
    let changed = rules.path().join("wmi_host_spawns_shell.yml");
    let text = std::fs::read_to_string(&changed).expect("rule");
    assert!(text.contains("- '\\WmiPrvSE.exe'"));
    let text = text.replace("- '\\WmiPrvSE.exe'", "- '\\NoSuchHost.exe'");
    std::fs::write(&changed, text).expect("write");
    let fewer = sigrun_cached(Path::new(""), &args);
    assert!(alerts(&fewer).len() < alerts(&without).len());
    let cached = sigrun_cached(cache.path(), &args);
    assert!(cached.stdout == fewer.stdout, "cached: other alerts");
    assert_eq!(
        String::from_utf8_lossy(&cached.stderr),
        String::from_utf8_lossy(&fewer.stderr)
    );
    assert_eq!(compiled_sets(cache.path()).len(), 2);
    let warm_fewer = sigrun_cached(cache.path(), &args);
    assert!(
        warm_fewer.stdout == fewer.stdout,
        "warm_fewer: other alerts"
    );

    // `--no-cache` reads and writes nothing.
    let empty = tempfile::tempdir().expect("tempdir");
    let mut flag = args.to_vec();
    flag.insert(1, "--no-cache");
    let no_cache = sigrun_cached(empty.path(), &flag);
    assert!(no_cache.stdout == fewer.stdout, "no_cache: other alerts");
    assert!(compiled_sets(empty.path()).is_empty());
}

#[test]
fn remembered_digests_never_hide_a_changed_rule() {
    // Rule files are remembered by status only once they are older than the run by two
    // seconds: these are made, then left to settle.
    let rules = tempfile::tempdir().expect("tempdir");
    let pack = common::repo_root().join("crates/pack/rules");
    for name in [
        "wmi_host_spawns_shell.yml",
        "mofcomp_suspicious_compile.yml",
    ] {
        std::fs::copy(pack.join(name), rules.path().join(name)).expect("copy");
    }
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let args = jsonl_hunt_of_samples(&[rules.path().to_str().expect("path")]);
    let cache = tempfile::tempdir().expect("tempdir");
    let without = sigrun_cached(Path::new(""), &args);
    assert!(!alerts(&without).is_empty());
    let cold = sigrun_cached(cache.path(), &args);
    assert!(cache.path().join("rule-digests.bin").is_file());
    let warm = sigrun_cached(cache.path(), &args);
    for run in [&cold, &warm] {
        assert!(run.stdout == without.stdout, "other alerts");
        assert_eq!(run.stderr, without.stderr);
    }
    // A damaged index: one warning, the same alerts, and written again.
    damage_is_reported_once(
        cache.path(),
        &args,
        &without,
        &cache.path().join("rule-digests.bin"),
        "warning: rule digest index ",
        "damaged (bad checksum); reading the rule files",
    );
    // The same length, one byte changed: only the file's status tells, and it does.
    let changed = rules.path().join("wmi_host_spawns_shell.yml");
    let text = std::fs::read_to_string(&changed).expect("rule");
    assert!(text.contains("- '\\WmiPrvSE.exe'"));
    std::fs::write(
        &changed,
        text.replace("- '\\WmiPrvSE.exe'", "- '\\WmiPrvSX.exe'"),
    )
    .expect("write");
    let fewer = sigrun_cached(Path::new(""), &args);
    assert!(alerts(&fewer).len() < alerts(&without).len());
    let cached = sigrun_cached(cache.path(), &args);
    assert!(cached.stdout == fewer.stdout, "cached: other alerts");
    assert_eq!(compiled_sets(cache.path()).len(), 2);
}
