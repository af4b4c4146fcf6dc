//! The file format: what each key parses to, and the errors (with positions) for bad files.

use std::borrow::Cow;

use sigrun_pipeline::{
    ConditionValue, FieldTarget, KeyRequirement, Pipeline, PipelineError, TargetInfo, TextPosition,
    ValueTransform,
};

const EVERY_KEY: &str = include_str!("fixtures/every_key.yml");

fn names(list: &[&str]) -> FieldTarget<'static> {
    FieldTarget::Names(Cow::Owned(list.iter().map(|s| (*s).to_owned()).collect()))
}

fn text(value: &str) -> ConditionValue {
    ConditionValue::Text(value.to_owned())
}

fn parse(text: &str) -> Result<Pipeline, PipelineError> {
    Pipeline::from_yaml("test.yml", text)
}

/// The error's rendered message, so a test states file, position and wording at once.
fn error_of(text: &str) -> String {
    match parse(text) {
        Ok(pipeline) => format!("unexpectedly parsed: {pipeline:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn top_level_keys_parse_to_their_values() {
    let lab = Pipeline::from_yaml("every_key.yml", EVERY_KEY).expect("fixture parses");
    assert_eq!(lab.name(), "lab");
    assert_eq!(lab.description(), Some("Every key of the format"));
    assert_eq!(
        lab.placeholder("Administrators"),
        Some(&["LAB\\Domain Admins".to_owned(), "LAB\\Tier0".to_owned()][..])
    );
    assert_eq!(lab.placeholder("Servers"), None);
    let source_names: Vec<_> = lab.sources().map(|s| s.name()).collect();
    assert_eq!(source_names, ["sysmon_one", "audit", "everything"]);
}

#[test]
fn logsource_keys_become_requirements_lowercased() {
    let lab = Pipeline::from_yaml("every_key.yml", EVERY_KEY).expect("fixture parses");
    let sources: Vec<_> = lab.sources().collect();

    let sysmon = sources[0].logsource();
    assert_eq!(
        sysmon.product(),
        &KeyRequirement::Equals("windows".to_owned())
    );
    assert_eq!(
        sysmon.category(),
        &KeyRequirement::Equals("process_creation".to_owned())
    );
    assert_eq!(sysmon.service(), &KeyRequirement::Any);
    assert_eq!(sysmon.specificity(), 2);
    assert_eq!(
        sysmon.to_string(),
        "product=windows category=process_creation"
    );

    let everything = sources[2].logsource();
    assert_eq!(everything.category(), &KeyRequirement::Absent);
    assert_eq!(everything.service(), &KeyRequirement::Absent);
    assert_eq!(everything.specificity(), 3);
    assert_eq!(
        everything.to_string(),
        "product=windows category=- service=-"
    );
}

#[test]
fn conditions_keep_yaml_types_and_structure() {
    let lab = Pipeline::from_yaml("every_key.yml", EVERY_KEY).expect("fixture parses");
    let audit = lab.sources().nth(1).expect("second source");
    let sets = audit.conditions();
    assert_eq!(sets.len(), 2);

    let first: Vec<_> = sets[0]
        .entries()
        .iter()
        .map(|c| (c.field(), c.values().to_vec()))
        .collect();
    assert_eq!(
        first,
        [
            ("Channel", vec![text("Security")]),
            ("EventID", vec![ConditionValue::Integer(4688), text("4689")]),
        ]
    );
    let second: Vec<_> = sets[1]
        .entries()
        .iter()
        .map(|c| (c.field(), c.values().to_vec()))
        .collect();
    assert_eq!(second, [("Channel", vec![text("Audit"), text("Audit2")])]);
}

#[test]
fn omitted_conditions_select_every_event() {
    let lab = Pipeline::from_yaml("every_key.yml", EVERY_KEY).expect("fixture parses");
    let everything = lab.sources().nth(2).expect("third source");
    assert_eq!(everything.conditions().len(), 1);
    assert!(everything.conditions()[0].entries().is_empty());
}

#[test]
fn source_fields_transforms_unavailable_and_target() {
    let lab = Pipeline::from_yaml("every_key.yml", EVERY_KEY).expect("fixture parses");
    let audit = lab.sources().nth(1).expect("second source");
    assert_eq!(audit.field("Image"), names(&["NewProcessName"]));
    assert_eq!(
        audit.field("CommandLine"),
        names(&["CommandLine", "ProcessCommandLine"])
    );
    assert_eq!(audit.field("Hashes"), FieldTarget::Unavailable);
    assert_eq!(
        audit.unavailable_fields().collect::<Vec<_>>(),
        ["Hashes", "User"]
    );
    assert_eq!(
        audit.value_transform("ProcessId"),
        Some(ValueTransform::Hex)
    );
    assert_eq!(
        audit.value_transform("IntegrityLevel"),
        Some(ValueTransform::IntegrityLevelSid)
    );
    assert_eq!(
        audit.value_transform("TargetObject"),
        Some(ValueTransform::RegistryNativePath)
    );
    assert_eq!(audit.value_transform("Image"), None);
    assert_eq!(
        audit.target(),
        Some(&TargetInfo {
            table: Some("SecurityEvent".to_owned()),
            index: Some("win-*".to_owned()),
            sourcetype: Some("XmlWinEventLog".to_owned()),
            source: Some("XmlWinEventLog:Security".to_owned()),
        })
    );
    let sysmon = lab.sources().next().expect("first source");
    assert_eq!(sysmon.description(), Some("Sysmon process creation"));
    assert_eq!(sysmon.target(), None);
}

#[test]
fn field_lookup_order_source_then_pipeline_then_fallback() {
    let lab = Pipeline::from_yaml("every_key.yml", EVERY_KEY).expect("fixture parses");
    let sysmon = lab.sources().next().expect("first source");
    let audit = lab.sources().nth(1).expect("second source");
    // Pipeline-wide rename.
    assert_eq!(sysmon.field("Computer"), names(&["Computer", "Hostname"]));
    assert_eq!(
        sysmon.field("CommandLine"),
        names(&["process.command_line"])
    );
    // The source's own rename wins over the pipeline's.
    assert_eq!(
        audit.field("CommandLine"),
        names(&["CommandLine", "ProcessCommandLine"])
    );
    // No entry anywhere: the fallback templates, in order.
    assert_eq!(
        sysmon.field("Hashes"),
        names(&["data.Hashes", "raw.Hashes"])
    );
    // Unavailable beats the fallback.
    assert_eq!(audit.field("User"), FieldTarget::Unavailable);
}

#[test]
fn without_fallback_a_field_keeps_its_name() {
    let pipeline = parse("name: p\nsources:\n  - name: s\n    logsource: { product: windows }\n")
        .expect("parses");
    let source = pipeline.sources().next().expect("one source");
    assert_eq!(source.field("CommandLine"), FieldTarget::SameName);
}

#[test]
fn unknown_keys_are_errors_with_positions() {
    assert_eq!(
        error_of("name: p\nfeilds: {}\n"),
        "test.yml:2:1: unknown field `feilds`, expected one of name, description, sources, \
         fields, fallback_field, placeholders, remove_sources"
    );
    assert_eq!(
        error_of(
            "name: p\nsources:\n  - name: s\n    logsource: { product: windows }\n    condition: []\n"
        ),
        "test.yml:5:5: unknown field `condition`, expected one of name, description, \
         logsource, conditions, fields, unavailable, transforms, target"
    );
    assert_eq!(
        error_of(
            "name: p\nsources:\n  - name: s\n    logsource: { product: windows, categroy: x }\n"
        ),
        "test.yml:4:36: unknown field `categroy`, expected one of category, product, service"
    );
    assert_eq!(
        error_of(
            "name: p\nsources:\n  - name: s\n    logsource: { product: windows }\n    target: { tabel: T }\n"
        ),
        "test.yml:5:15: unknown field `tabel`, expected one of table, index, sourcetype, source"
    );
    assert_eq!(
        error_of(
            "name: p\nsources:\n  - name: s\n    logsource: { product: windows }\n    transforms: { ProcessId: hexadecimal }\n"
        ),
        "test.yml:5:30: unknown variant `hexadecimal`, expected one of hex, \
         integrity_level_sid, registry_native_path, integer_from_hex, datetime_from_text, \
         file_name, value_map, hash_columns"
    );
}

#[test]
fn error_values_carry_file_and_position() {
    let error = parse("name: p\nfeilds: {}\n").expect_err("unknown key");
    let PipelineError::Yaml { file, at, .. } = error else {
        panic!("expected a YAML error, got {error:?}");
    };
    assert_eq!(file, "test.yml");
    assert_eq!(at, Some(TextPosition { line: 2, column: 1 }));
}

#[test]
fn wrong_value_types_are_errors() {
    let condition = |value: &str| {
        error_of(&format!(
            "name: p\nsources:\n  - name: s\n    logsource: {{ product: windows }}\n    conditions: [ {{ EventID: {value} }} ]\n"
        ))
    };
    assert_eq!(
        condition("1.5"),
        "test.yml:5:21: invalid type: floating point `1.5`, expected a string, an integer, or a list of them"
    );
    assert_eq!(
        condition("true"),
        "test.yml:5:21: invalid type: boolean `true`, expected a string, an integer, or a list of them"
    );
    assert_eq!(
        condition("[[1]]"),
        "test.yml:5:31: invalid type: sequence, expected a string or an integer"
    );
    assert_eq!(
        error_of("sources: []\n"),
        "test.yml:1:1: missing field `name`"
    );
    assert_eq!(
        error_of("name: p\nname: q\n"),
        "test.yml:2:1: duplicate mapping key: name"
    );
}

#[test]
fn contradictions_and_empty_lists_are_errors() {
    let source = |body: &str| {
        error_of(&format!(
            "name: p\nsources:\n  - name: s\n    logsource: {{ product: windows }}\n{body}"
        ))
    };
    assert_eq!(
        source("    conditions: []\n"),
        "test.yml:5:17: source 's': `conditions: []` would select no event; leave the key out \
         to select every event"
    );
    assert_eq!(
        source("    conditions: [ { EventID: [] } ]\n"),
        "test.yml:5:30: source 's': condition on 'EventID' has an empty value list"
    );
    assert_eq!(
        source("    fields: { Image: [] }\n"),
        "test.yml:5:22: field 'Image' maps to an empty list"
    );
    assert_eq!(
        source("    fields: { Image: a }\n    unavailable: [Image]\n"),
        "test.yml:6:19: source 's': field 'Image' is both mapped under `fields` and listed as \
         unavailable"
    );
    assert_eq!(
        source("    unavailable: [Image]\n    transforms: { Image: hex }\n"),
        "test.yml:6:26: source 's': field 'Image' has a transform but is unavailable"
    );
    assert_eq!(
        source("  - name: s\n    logsource: { product: windows }\n"),
        "test.yml:5:11: source 's' is defined twice"
    );
}

#[test]
fn a_null_only_logsource_names_a_key() {
    let pipeline = parse("name: p\nsources:\n  - name: s\n    logsource: { category: null }\n")
        .expect("a logsource with only `category: null` parses");
    let source = pipeline.sources().next().expect("one source");
    assert_eq!(source.logsource().specificity(), 1);
}

#[test]
fn logsource_must_name_a_key_and_values_must_not_be_empty() {
    assert_eq!(
        error_of("name: p\nsources:\n  - name: s\n    logsource: {}\n"),
        "test.yml:4:16: source 's': logsource names no key, so it would apply to every rule"
    );
    assert_eq!(
        error_of("name: p\nsources:\n  - name: s\n    logsource: { product: '' }\n"),
        "test.yml:4:16: source 's': logsource product is empty; write `product: null` to \
         require its absence"
    );
}

#[test]
fn pipeline_level_checks() {
    assert_eq!(
        error_of("name: '  '\n"),
        "test.yml:1:7: the pipeline name is empty"
    );
    assert_eq!(
        error_of("name: p\nfallback_field: winlog.event_data\n"),
        "test.yml:2:17: fallback_field template 'winlog.event_data' does not contain {name}"
    );
    assert_eq!(
        error_of("name: p\nplaceholders: { Admins: [] }\n"),
        "test.yml:2:25: placeholder 'Admins' has no values"
    );
    assert_eq!(
        error_of(
            "name: p\nremove_sources: [s]\nsources:\n  - name: s\n    logsource: { product: windows }\n"
        ),
        "test.yml:2:18: remove_sources names 's', which this pipeline itself defines"
    );
}
