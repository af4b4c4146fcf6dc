//! The seed detection (WMI script event consumer file write, seeds 000 and 001 in
//! `../shared/seeds`) converts to the forms those documents publish.
//!
//! - Seed 000 (Sentinel): `imFileEvent | where TargetFilePath =~ "C:\\WINDOWS\\..."`. sigrun's
//!   kusto_asim pipeline maps Sysmon `Image` (the process that wrote the file) to
//!   `ActingProcessName`, as Microsoft's own ASIM Sysmon parser does; the seed's
//!   `TargetFilePath` (the written file) is pySigma's mapping, which the shared reference flags
//!   as wrong. Table, operator and value literal are the seed's.
//! - Seed 001 (Kibana, Graylog): `(EventID:"11" AND Image:"C\:\\WINDOWS\\...")`. The page
//!   shows the query with one extra level of backslash escaping (its Watcher JSON, decoded,
//!   holds the single-escaped text); the test checks both.

mod common;

use sigrun_convert::{Options, Target, convert};
use sigrun_pipeline::Pipeline;

const SEED_000_RULE: &str = r"
title: WMI Persistence - Script Event Consumer File Write
id: 33f41cdd-35ac-4ba8-814b-c6a4244a1ad4
status: test
description: Detects file writes of WMI script event consumer
author: Thomas Patzke
date: 2018-03-07
tags:
    - attack.privilege-escalation
    - attack.t1546.003
    - attack.persistence
logsource:
    product: windows
    category: file_event
detection:
    selection:
        Image: 'C:\WINDOWS\system32\wbem\scrcons.exe'
    condition: selection
level: high
";

const SEED_001_RULE: &str = r"
title: WMI Persistence - Script Event Consumer File Write
status: experimental
description: Detects file writes of WMI script event consumer
author: Thomas Patzke
logsource:
    product: windows
    service: sysmon
detection:
    selection:
        EventID: 11
        Image: 'C:\WINDOWS\system32\wbem\scrcons.exe'
    condition: selection
level: high
";

const KIBANA: &str = r#"(EventID:"11" AND Image:"C\:\\WINDOWS\\system32\\wbem\\scrcons.exe")"#;

fn kusto(pipeline: &str) -> String {
    let rule = common::rule(SEED_000_RULE);
    let pipeline = Pipeline::builtin(pipeline).expect("built-in");
    convert(&rule, Target::Kusto, Some(pipeline), &Options::default())
        .expect("converts")
        .text()
}

#[test]
fn seed_000_as_sentinel_asim_and_defender_xdr() {
    assert_eq!(
        kusto("kusto_asim"),
        "imFileEvent\n| where ActingProcessName =~ \"C:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\""
    );
    assert_eq!(
        kusto("kusto_defender"),
        "DeviceFileEvents\n| where InitiatingProcessFolderPath =~ \"C:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\""
    );
    assert_eq!(
        kusto("kusto_sentinel"),
        "WindowsEvent\n| where Channel =~ \"Microsoft-Windows-Sysmon/Operational\" and EventID == 11\n| where tostring(EventData.Image) =~ \"C:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\""
    );
}

#[test]
fn seed_000_kql_has_the_same_table_operator_and_value() {
    let Some(shared) = common::shared() else {
        return;
    };
    let Ok(seed) = std::fs::read_to_string(shared.join("seeds/000_1b44c350238dc441.txt")) else {
        println!("skipped: seed 000 not found");
        return;
    };
    let start = seed.find("imFileEvent").expect("the seed's KQL");
    let seed_kql: Vec<&str> = seed[start..].lines().take(2).collect();
    assert_eq!(seed_kql[0], "imFileEvent");
    let (_, seed_test) = seed_kql[1]
        .split_once(" TargetFilePath ")
        .expect("the seed's where clause");
    let ours = kusto("kusto_asim");
    let (_, our_test) = ours
        .split_once(" ActingProcessName ")
        .expect("our where clause");
    assert!(ours.starts_with("imFileEvent\n| where "));
    assert_eq!(our_test, seed_test);
}

#[test]
fn seed_001_as_kibana_and_graylog() {
    let rule = common::rule(SEED_001_RULE);
    for target in [Target::Lucene, Target::Graylog] {
        let query = convert(&rule, target, None, &Options::default())
            .expect("converts")
            .text();
        assert_eq!(query, KIBANA, "{target}");
    }
}

#[test]
fn seed_001_page_shows_the_same_queries_escaped_once_more() {
    let Some(shared) = common::shared() else {
        return;
    };
    let Ok(seed) = std::fs::read_to_string(shared.join("seeds/001_ae5210002f8d1d01.txt")) else {
        println!("skipped: seed 001 not found");
        return;
    };
    for heading in ["### Kibana query", "### Graylog"] {
        let at = seed.find(heading).expect(heading);
        let block = seed[at..].split("```").nth(1).expect("code block").trim();
        assert_eq!(block.replace("\\\\", "\\"), KIBANA, "{heading}");
    }
}
