//! Condition forms (precedence, quantifiers, negation, keywords, condition lists), SPL's
//! pipes and `| where` fallback, and what pipelines add: source conditions, field names,
//! tables, unavailable fields and placeholders.

mod common;

use sigrun_convert::{ConvertError, KeywordField, Options, PlaceholderPolicy, Target, convert};
use sigrun_pipeline::Pipeline;

const LOGSOURCE: &str = "logsource: {product: windows, category: process_creation}";

fn rule(detection: &str) -> sigrun_rule::SigmaRule {
    common::rule(&format!("title: t\n{LOGSOURCE}\ndetection:\n{detection}"))
}

fn text(target: Target, rule: &sigrun_rule::SigmaRule) -> String {
    convert(rule, target, None, &Options::default())
        .unwrap_or_else(|e| panic!("{target}: {e}"))
        .text()
}

const ABC: &str = "    a: {A: 1}\n    b: {B: 2}\n    c: {C: 3}\n";

#[test]
fn and_binds_tighter_than_or_in_every_target_but_splunk() {
    let r = rule(&format!("{ABC}    condition: a or b and not c\n"));
    assert_eq!(text(Target::Kusto, &r), "A == 1 or B == 2 and not(C == 3)");
    // Lucene's classic parser has no AND/OR precedence: the AND group is parenthesised.
    assert_eq!(
        text(Target::Lucene, &r),
        r#"(A:"1" OR (B:"2" AND NOT C:"3"))"#
    );
    assert_eq!(
        text(Target::Eql, &r),
        // Under `not`, a test is guarded: EQL's comparison with a missing field is null.
        "any where A == 1 or B == 2 and not (C != null and C == 3)"
    );
    assert_eq!(
        text(Target::Esql, &r),
        "FROM *\n| WHERE A == 1 OR B == 2 AND NOT COALESCE(C == 3, false)"
    );
    // SPL: OR binds tighter than AND, so the AND group needs the parentheses.
    assert_eq!(text(Target::Splunk, &r), "A=1 OR (B=2 NOT C=3)");
    assert_eq!(
        text(Target::Sqlite, &r),
        r#"SELECT * FROM "events" WHERE "A" = 1 OR "B" = 2 AND NOT coalesce("C" = 3, FALSE)"#
    );
}

#[test]
fn or_under_and_needs_parentheses_except_in_splunk() {
    let r = rule(&format!("{ABC}    condition: (a or b) and c\n"));
    assert_eq!(text(Target::Kusto, &r), "(A == 1 or B == 2) and C == 3");
    assert_eq!(text(Target::Lucene, &r), r#"((A:"1" OR B:"2") AND C:"3")"#);
    assert_eq!(text(Target::Splunk, &r), "A=1 OR B=2 C=3");
    assert_eq!(
        text(Target::Duckdb, &r),
        r#"SELECT * FROM "events" WHERE ("A" = 1 OR "B" = 2) AND "C" = 3"#
    );
}

#[test]
fn quantifiers_expand_over_matching_identifiers() {
    let r = rule(
        "    sel_a: {A: 1}\n    sel_b: {B: 2}\n    filter_1: {C: 3}\n    filter_2: {D: 4}\n    _hidden: {E: 5}\n    condition: 1 of sel_* and not 1 of filter_*\n",
    );
    assert_eq!(
        text(Target::Kusto, &r),
        "(A == 1 or B == 2) and not(C == 3 or D == 4)"
    );
    assert_eq!(text(Target::Splunk, &r), "A=1 OR B=2 NOT (C=3 OR D=4)");
    assert_eq!(
        text(Target::Lucene, &r),
        r#"((A:"1" OR B:"2") AND NOT (C:"3" OR D:"4"))"#
    );
    let them = rule("    x: {A: 1}\n    y: {B: 2}\n    _z: {C: 3}\n    condition: all of them\n");
    assert_eq!(text(Target::Kusto, &them), "A == 1 and B == 2");
}

#[test]
fn lists_of_maps_and_condition_lists_are_ored() {
    let r = rule(
        "    sel:\n      - {A: 1, B: 2}\n      - {C: 3}\n    other: {D: 4}\n    condition: [sel, other]\n",
    );
    assert_eq!(
        text(Target::Kusto, &r),
        "A == 1 and B == 2 or C == 3 or D == 4"
    );
    assert_eq!(text(Target::Splunk, &r), "(A=1 B=2) OR C=3 OR D=4");
}

#[test]
fn keywords_search_every_field_or_the_keyword_field() {
    let r =
        rule("    keywords: ['mimikatz', 'sekurlsa::logonpasswords']\n    condition: keywords\n");
    assert_eq!(
        text(Target::Kusto, &r),
        r#"* contains "mimikatz" or * contains "sekurlsa::logonpasswords""#
    );
    assert_eq!(
        text(Target::Lucene, &r),
        r"(*mimikatz* OR *sekurlsa\:\:logonpasswords*)"
    );
    assert_eq!(
        text(Target::Splunk, &r),
        r#""*mimikatz*" OR "*sekurlsa::logonpasswords*""#
    );
    let eql = convert(&r, Target::Eql, None, &Options::default()).expect("converts");
    assert_eq!(
        eql.text(),
        r#"any where message : ("*mimikatz*", "*sekurlsa::logonpasswords*")"#
    );
    assert_eq!(
        eql.warnings,
        ["eql: keyword search written as a search of the field 'message'"]
    );
    let options = Options {
        keyword_field: KeywordField::None,
        ..Options::default()
    };
    let refused = convert(&r, Target::Sqlite, None, &options).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "sqlite cannot express keyword search: the language has no search over every field; set a keyword field (the field that holds the whole event text) to search there"
    );
}

#[test]
fn splunk_writes_top_level_regexes_as_pipes_and_falls_back_to_where() {
    let r = rule(
        "    sel:\n      Image|endswith: '\\x.exe'\n      CommandLine|re: '\\d{3}'\n    filter:\n      ParentImage|re: 'a\"b'\n    condition: sel and not filter\n",
    );
    assert_eq!(
        text(Target::Splunk, &r),
        "Image=\"*\\\\x.exe\"\n| regex CommandLine=\"\\\\d{3}\"\n| regex ParentImage!=\"a\\\"b\""
    );
    // A regex under OR cannot be a pipe: the whole rule becomes a `| where`.
    let nested = rule(
        "    a:\n      CommandLine|re: '^x'\n    b:\n      Image: 'C:\\y?.exe'\n    condition: a or b\n",
    );
    assert_eq!(
        text(Target::Splunk, &nested),
        "*\n| where match(coalesce(tostring('CommandLine'), \"\"), \"^x\") OR match(coalesce(tostring('Image'), \"\"), \"(?i)^C:\\\\\\\\y.\\\\.exe$\")"
    );
}

#[test]
fn pipelines_add_source_conditions_field_names_and_tables() {
    let r = rule(
        "    sel:\n      Image|endswith: '\\cmd.exe'\n      User|contains: 'adm'\n    condition: sel\n",
    );
    let windows = Pipeline::builtin("windows").expect("built-in");
    let out = convert(&r, Target::Sqlite, Some(windows), &Options::default()).expect("converts");
    assert_eq!(
        out.queries
            .iter()
            .map(|q| q.source.as_deref())
            .collect::<Vec<_>>(),
        [Some("sysmon_process_creation")]
    );
    assert_eq!(
        out.queries[0].text,
        r#"SELECT * FROM "events" WHERE "Channel" LIKE 'Microsoft-Windows-Sysmon/Operational' ESCAPE '\' AND "EventID" = 1 AND "Image" LIKE '%\\cmd.exe' ESCAPE '\' AND "User" LIKE '%adm%' ESCAPE '\'"#
    );
    // 4688 has no User: the selection needs it, so that variant cannot match and fails,
    // while the Sysmon variant converts.
    assert_eq!(out.errors.len(), 1);
    assert_eq!(
        out.errors[0].1.to_string(),
        "in source 'security_4688' the condition is always false: the source does not carry 'User'"
    );

    let defender = Pipeline::builtin("kusto_defender").expect("built-in");
    let out = convert(&r, Target::Kusto, Some(defender), &Options::default()).expect("converts");
    assert_eq!(
        out.text(),
        "DeviceProcessEvents\n| where FolderPath endswith \"\\\\cmd.exe\" and AccountName contains \"adm\""
    );

    let image_only = rule("    sel:\n      Image|endswith: '\\cmd.exe'\n    condition: sel\n");
    let splunk = Pipeline::builtin("splunk_windows").expect("built-in");
    let out = convert(
        &image_only,
        Target::Splunk,
        Some(splunk),
        &Options::default(),
    )
    .expect("converts");
    assert_eq!(
        out.queries[1].text,
        "sourcetype=\"WinEventLog\" EventCode=4688 source=\"WinEventLog:Security\" NewProcessName=\"*\\\\cmd.exe\""
    );
}

#[test]
fn unavailable_fields_are_absent_and_reported() {
    // A filter on a field 4688 lacks: `not filter` stays true there, with a warning.
    let r = rule(
        "    sel:\n      Image|endswith: '\\cmd.exe'\n    filter:\n      User: 'x'\n    condition: sel and not filter\n",
    );
    let windows = Pipeline::builtin("windows").expect("built-in");
    let out = convert(&r, Target::Kusto, Some(windows), &Options::default()).expect("converts");
    assert_eq!(
        out.queries[1].text,
        "Channel =~ \"Security\" and EventID == 4688 and NewProcessName endswith \"\\\\cmd.exe\""
    );
    assert_eq!(
        out.warnings,
        [
            "source 'security_4688' does not carry 'User'; tests on them were treated as on an absent field"
        ]
    );
    let logsource = common::rule(
        "title: t\nlogsource: {product: linux, category: process_creation}\ndetection:\n    sel: {Image: x}\n    condition: sel\n",
    );
    let unmapped = convert(
        &logsource,
        Target::Kusto,
        Some(windows),
        &Options::default(),
    )
    .unwrap_err();
    assert!(unmapped.is_skip());
    assert_eq!(
        unmapped.to_string(),
        "no source in pipeline 'windows' for logsource product=linux category=process_creation"
    );
}

#[test]
fn placeholders_expand_from_the_pipeline_or_are_refused() {
    let r = rule("    sel:\n      User|expand: '%Admins%'\n    condition: sel\n");
    let refused = convert(&r, Target::Kusto, None, &Options::default()).unwrap_err();
    assert_eq!(
        refused,
        ConvertError::UndefinedPlaceholder {
            name: "Admins".into(),
            pipeline: None
        }
    );
    assert_eq!(
        refused.to_string(),
        "placeholder %Admins% has no values in the conversion (no pipeline given)"
    );
    let site = Pipeline::from_yaml(
        "site.yml",
        "name: site\nplaceholders:\n  Admins: ['CORP\\alice', 'CORP\\bob*']\nsources:\n  - name: all\n    logsource: {product: windows}\n",
    )
    .expect("valid pipeline");
    let out = convert(&r, Target::Kusto, Some(&site), &Options::default()).expect("converts");
    assert_eq!(
        out.text(),
        "User =~ \"CORP\\\\alice\" or User startswith \"CORP\\\\bob\""
    );
    let wildcard = Options {
        placeholders: PlaceholderPolicy::Wildcard,
        ..Options::default()
    };
    let out = convert(&r, Target::Splunk, None, &wildcard).expect("converts");
    assert_eq!(out.text(), "User=\"*\"");
}

#[test]
fn kusto_table_and_dynamic_paths() {
    let r = rule(
        "    sel:\n      CommandLine|contains: 'x'\n      ProcessId|gt: 4\n    condition: sel\n",
    );
    let sentinel = Pipeline::builtin("kusto_sentinel").expect("built-in");
    let out = convert(&r, Target::Kusto, Some(sentinel), &Options::default()).expect("converts");
    assert_eq!(
        out.queries[0].text,
        "WindowsEvent\n| where Channel =~ \"Microsoft-Windows-Sysmon/Operational\" and EventID == 1\n| where tostring(EventData.CommandLine) contains \"x\" and todouble(tostring(EventData.ProcessId)) > 4"
    );
    assert_eq!(out.queries[0].table.as_deref(), Some("WindowsEvent"));
    // 4688 writes process ids in hex: an equality could be rewritten, a comparison cannot.
    assert_eq!(
        out.errors[0].1.to_string(),
        "field 'ProcessId' is stored as hexadecimal in source 'security_4688': only a whole number can be rewritten as hex, not > 4"
    );
    let eq = rule("    sel:\n      ProcessId: 6772\n    condition: sel\n");
    let out = convert(&eq, Target::Kusto, Some(sentinel), &Options::default()).expect("converts");
    assert_eq!(
        out.queries[1].text,
        "SecurityEvent\n| where EventID == 4688\n| where NewProcessId =~ \"0x1a74\""
    );
}
