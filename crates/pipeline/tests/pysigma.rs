//! pySigma processing pipelines translated into sigrun pipelines: each supported
//! transformation with its exact resolution, each refused construct with its exact message,
//! and each warning.

use sigrun_pipeline::{ConditionValue, FieldTarget, LogSource, Pipeline, Resolution, Translation};

fn translate(text: &str) -> Translation {
    match Pipeline::from_pysigma_yaml("p.yml", text) {
        Ok(translation) => translation,
        Err(error) => panic!("translation failed: {error}"),
    }
}

/// Translates and checks that there was no warning.
fn clean(text: &str) -> Pipeline {
    let translation = translate(text);
    let warnings: Vec<String> = translation
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(warnings, Vec::<String>::new());
    translation.pipeline
}

fn refusal(text: &str) -> String {
    match Pipeline::from_pysigma_yaml("p.yml", text) {
        Ok(_) => panic!("translation should fail"),
        Err(error) => error.to_string(),
    }
}

fn warnings(text: &str) -> Vec<String> {
    translate(text)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// One line per variant a logsource resolves to:
/// `name [when {a=1,b='x'} or {...}] [table T] [index I] | F: target; ...`
/// with `=` for "same name" and `-` for "unavailable".
fn describe(pipeline: &Pipeline, logsource: &str, fields: &[&str]) -> String {
    let mut keys = [None, None, None];
    for part in logsource.split_whitespace() {
        let (key, value) = part.split_once('=').expect("key=value");
        let slot = ["product", "category", "service"]
            .iter()
            .position(|k| *k == key)
            .expect("logsource key");
        keys[slot] = Some(value);
    }
    let logsource = LogSource {
        product: keys[0],
        category: keys[1],
        service: keys[2],
    };
    let variants = match pipeline.resolve(&logsource) {
        Resolution::Unmapped { reason } => return format!("unmapped: {reason}"),
        Resolution::Mapped(variants) => variants,
    };
    let mut lines = Vec::new();
    for variant in variants {
        let mut line = variant.name().to_owned();
        let sets: Vec<String> = variant
            .conditions()
            .iter()
            .filter(|set| !set.entries().is_empty())
            .map(|set| {
                let entries: Vec<String> = set
                    .entries()
                    .iter()
                    .map(|c| {
                        let values: Vec<String> = c
                            .values()
                            .iter()
                            .map(|v| match v {
                                ConditionValue::Text(text) => format!("'{text}'"),
                                ConditionValue::Integer(n) => n.to_string(),
                            })
                            .collect();
                        format!("{}={}", c.field(), values.join("|"))
                    })
                    .collect();
                format!("{{{}}}", entries.join(","))
            })
            .collect();
        if !sets.is_empty() {
            line.push_str(&format!(" when {}", sets.join(" or ")));
        }
        if let Some(target) = variant.target() {
            if let Some(table) = &target.table {
                line.push_str(&format!(" table {table}"));
            }
            if let Some(index) = &target.index {
                line.push_str(&format!(" index {index}"));
            }
        }
        let fields: Vec<String> = fields
            .iter()
            .map(|field| {
                let target = match variant.field(field) {
                    FieldTarget::Names(names) => names.join(","),
                    FieldTarget::SameName => "=".to_owned(),
                    FieldTarget::Unavailable => "-".to_owned(),
                };
                format!("{field}: {target}")
            })
            .collect();
        if !fields.is_empty() {
            line.push_str(&format!(" | {}", fields.join("; ")));
        }
        lines.push(line);
    }
    lines.join("\n")
}

fn source_names(pipeline: &Pipeline) -> Vec<&str> {
    pipeline.sources().map(|s| s.name()).collect()
}

// ---------------------------------------------------------------- supported transformations

#[test]
fn unconditional_field_name_mapping_renames_for_every_rule() {
    let pipeline = clean(
        "
name: site
priority: 10
transformations:
  - id: names
    type: field_name_mapping
    mapping:
      CommandLine: process.command_line
      Image: [process.executable, process.name]
",
    );
    assert_eq!(pipeline.name(), "site");
    assert_eq!(source_names(&pipeline), ["any logsource"]);
    assert_eq!(
        describe(
            &pipeline,
            "product=windows category=process_creation",
            &["CommandLine", "Image", "User"]
        ),
        "any logsource | CommandLine: process.command_line; Image: process.executable,process.name; User: ="
    );
    assert_eq!(
        describe(&pipeline, "product=linux", &["CommandLine"]),
        "any logsource | CommandLine: process.command_line"
    );
}

const SCOPED: &str = "
name: lab
transformations:
  - id: sysmon_process_creation
    type: add_condition
    conditions:
      EventID: 1
      Channel: Microsoft-Windows-Sysmon/Operational
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
  - id: ecs_names
    type: field_name_mapping
    mapping:
      EventID: event.code
      CommandLine: process.command_line
    rule_conditions:
      - type: logsource
        product: windows
  - id: table
    type: set_state
    key: query_table
    val: DeviceProcessEvents
    rule_conditions:
      - type: logsource
        category: process_creation
";

#[test]
fn logsource_conditions_become_sources_and_combine_like_pysigma() {
    let pipeline = clean(SCOPED);
    assert_eq!(
        source_names(&pipeline),
        [
            "any logsource",
            "category=process_creation",
            "product=windows",
            "product=windows category=process_creation",
        ]
    );
    // The mapping after add_condition renames the condition's EventID, as in pySigma;
    // Channel is not in the mapping and stays.
    assert_eq!(
        describe(
            &pipeline,
            "product=windows category=process_creation",
            &["CommandLine", "Image"]
        ),
        "product=windows category=process_creation \
         when {Channel='Microsoft-Windows-Sysmon/Operational',event.code=1} \
         table DeviceProcessEvents | CommandLine: process.command_line; Image: ="
    );
    assert_eq!(
        describe(
            &pipeline,
            "product=windows category=image_load",
            &["CommandLine"]
        ),
        "product=windows | CommandLine: process.command_line"
    );
    assert_eq!(
        describe(
            &pipeline,
            "product=linux category=process_creation",
            &["CommandLine"]
        ),
        "category=process_creation table DeviceProcessEvents | CommandLine: ="
    );
    assert_eq!(
        describe(&pipeline, "product=linux", &["CommandLine"]),
        "any logsource | CommandLine: ="
    );
}

#[test]
fn a_mapping_before_add_condition_leaves_the_condition_field_alone() {
    let pipeline = clean(
        "
transformations:
  - id: rename
    type: field_name_mapping
    mapping: { EventID: event.code }
  - id: security
    type: add_condition
    conditions: { EventID: [4624, 4625] }
    rule_conditions: [ { type: logsource, service: security } ]
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows service=security", &["EventID"]),
        "service=security when {EventID=4624|4625} | EventID: event.code"
    );
}

#[test]
fn a_list_mapping_of_a_condition_field_gives_one_condition_set_per_name() {
    let pipeline = clean(
        "
transformations:
  - id: channel
    type: add_condition
    conditions: { Channel: Security }
    rule_conditions: [ { type: logsource, service: security } ]
  - id: rename
    type: field_name_mapping
    mapping: { Channel: [winlog.channel, event.provider] }
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows service=security", &[]),
        "service=security when {winlog.channel='Security'} or {event.provider='Security'}"
    );
}

#[test]
fn escaped_wildcards_in_condition_values_are_literal() {
    let pipeline = clean(
        r"
transformations:
  - id: star
    type: add_condition
    conditions: { Name: 'a\*b\\c\d' }
    rule_conditions: [ { type: logsource, product: lab } ]
",
    );
    assert_eq!(
        describe(&pipeline, "product=lab", &[]),
        r"product=lab when {Name='a*b\c\d'}"
    );
}

#[test]
fn rule_cond_not_applies_to_the_rules_outside_the_logsource() {
    let pipeline = clean(
        "
transformations:
  - id: non_windows
    type: field_name_mapping
    mapping: { User: user.name }
    rule_conditions: [ { type: logsource, product: windows } ]
    rule_cond_not: true
",
    );
    assert_eq!(
        describe(&pipeline, "product=linux", &["User"]),
        "any logsource | User: user.name"
    );
    assert_eq!(
        describe(
            &pipeline,
            "product=windows category=process_creation",
            &["User"]
        ),
        "product=windows | User: User"
    );
}

#[test]
fn rule_cond_op_or_applies_to_either_logsource() {
    let pipeline = clean(
        "
transformations:
  - id: powershell
    type: add_condition
    conditions: { Provider: PowerShell }
    rule_conditions:
      - { type: logsource, category: ps_script }
      - { type: logsource, category: ps_module }
    rule_cond_op: or
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows category=ps_module", &[]),
        "category=ps_module when {Provider='PowerShell'}"
    );
    assert_eq!(
        describe(&pipeline, "product=windows category=ps_script", &[]),
        "category=ps_script when {Provider='PowerShell'}"
    );
    assert_eq!(describe(&pipeline, "product=windows", &[]), "any logsource");
}

#[test]
fn rule_cond_expr_and_pruning_of_scopes_that_change_nothing() {
    let pipeline = clean(
        "
transformations:
  - id: windows_index
    type: set_state
    key: index
    val: winlogbeat-*
    rule_conditions:
      win: { type: logsource, product: windows }
      sysmon: { type: logsource, service: sysmon }
    rule_cond_expr: win and not sysmon
",
    );
    // `service=sysmon` alone says what `any logsource` says, so it is not a source.
    assert_eq!(
        source_names(&pipeline),
        [
            "any logsource",
            "product=windows",
            "product=windows service=sysmon"
        ]
    );
    assert_eq!(
        describe(&pipeline, "product=windows service=security", &[]),
        "product=windows index winlogbeat-*"
    );
    assert_eq!(
        describe(&pipeline, "product=windows service=sysmon", &[]),
        "product=windows service=sysmon"
    );
    assert_eq!(
        describe(&pipeline, "product=linux service=sysmon", &[]),
        "any logsource"
    );
}

#[test]
fn field_name_prefix_becomes_the_fallback_template() {
    let pipeline = clean(
        "
transformations:
  - id: prefix
    type: field_name_prefix
    prefix: winlog.event_data.
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image"]),
        "any logsource | Image: winlog.event_data.Image"
    );
}

#[test]
fn a_prefix_after_a_mapping_also_prefixes_the_mapped_names() {
    let pipeline = clean(
        "
transformations:
  - id: names
    type: field_name_mapping
    mapping: { CommandLine: command_line }
  - id: prefix
    type: field_name_prefix
    prefix: data.
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["CommandLine", "Image"]),
        "any logsource | CommandLine: data.command_line; Image: data.Image"
    );
}

#[test]
fn a_prefix_for_fields_no_earlier_item_processed_keeps_the_mapped_names() {
    let pipeline = clean(
        "
transformations:
  - id: ecs
    type: field_name_mapping
    mapping: { CommandLine: process.command_line }
  - id: event_data
    type: field_name_prefix
    prefix: winlog.event_data.
    field_name_conditions:
      - type: processing_item_applied
        processing_item_id: ecs
    field_name_cond_not: true
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["CommandLine", "Image"]),
        "any logsource | CommandLine: process.command_line; Image: winlog.event_data.Image"
    );
}

#[test]
fn include_fields_limits_a_prefix_to_the_named_fields() {
    let pipeline = clean(
        "
transformations:
  - id: prefix
    type: field_name_prefix
    prefix: x.
    field_name_conditions:
      - type: include_fields
        fields: [Image, User]
",
    );
    assert_eq!(
        describe(
            &pipeline,
            "product=windows",
            &["Image", "User", "CommandLine"]
        ),
        "any logsource | Image: x.Image; User: x.User; CommandLine: ="
    );
}

#[test]
fn exclude_fields_keeps_the_excluded_names_under_a_fallback() {
    let pipeline = clean(
        "
transformations:
  - id: prefix
    type: field_name_prefix
    prefix: x.
    field_name_conditions:
      - type: exclude_fields
        fields: [Image]
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image", "User"]),
        "any logsource | Image: Image; User: x.User"
    );
}

#[test]
fn field_name_suffix_becomes_the_fallback_template() {
    let pipeline = clean(
        "
transformations:
  - id: keyword
    type: field_name_suffix
    suffix: .keyword
  - id: names
    type: field_name_mapping
    mapping: { Image.keyword: process.executable }
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image", "User"]),
        "any logsource | Image: process.executable; User: User.keyword"
    );
}

#[test]
fn field_name_prefix_mapping_renames_a_prefix_every_field_has() {
    let pipeline = clean(
        "
transformations:
  - id: prefix
    type: field_name_prefix
    prefix: winlog.event_data.
  - id: move
    type: field_name_prefix_mapping
    mapping:
      winlog.event_data.: data.
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image"]),
        "any logsource | Image: data.Image"
    );
}

#[test]
fn field_name_prefix_mapping_renames_fields_named_before() {
    // Every unnamed field starts with `event.`, so none can start with `target.`: only the
    // mapped TargetFilename is moved.
    let pipeline = clean(
        "
transformations:
  - id: prefix
    type: field_name_prefix
    prefix: event.
  - id: names
    type: field_name_mapping
    mapping: { event.TargetFilename: target.name }
  - id: move
    type: field_name_prefix_mapping
    mapping:
      target.: file.
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["TargetFilename", "Image"]),
        "any logsource | TargetFilename: file.name; Image: event.Image"
    );
}

#[test]
fn query_table_and_index_states_become_the_target() {
    let pipeline = clean(
        "
transformations:
  - id: table
    type: set_state
    key: query_table
    val: [DeviceProcessEvents]
    rule_conditions: [ { type: logsource, category: process_creation } ]
  - id: index
    type: set_state
    key: index
    val: logs-*
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows category=process_creation", &[]),
        "category=process_creation table DeviceProcessEvents index logs-*"
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &[]),
        "any logsource index logs-*"
    );
}

#[test]
fn value_placeholders_take_their_values_from_vars() {
    let pipeline = clean(
        r"
vars:
  Administrators: ['LAB\Domain Admins', 'LAB\Tier0']
  Servers: srv01
  Ports: [80, 443]
transformations:
  - id: values
    type: value_placeholders
    include: [Administrators, Ports]
",
    );
    assert_eq!(
        pipeline.placeholder("Administrators"),
        Some(&[r"LAB\Domain Admins".to_owned(), r"LAB\Tier0".to_owned()][..])
    );
    assert_eq!(
        pipeline.placeholder("Ports"),
        Some(&["80".to_owned(), "443".to_owned()][..])
    );
    assert_eq!(pipeline.placeholder("Servers"), None);

    let excluding = clean(
        "
vars: { A: a, B: b }
transformations:
  - { id: values, type: value_placeholders, exclude: [A] }
",
    );
    assert_eq!(excluding.placeholder("A"), None);
    assert_eq!(excluding.placeholder("B"), Some(&["b".to_owned()][..]));
}

#[test]
fn change_logsource_feeds_later_logsource_conditions() {
    let pipeline = clean(
        "
transformations:
  - id: to_sysmon
    type: change_logsource
    product: windows
    service: sysmon
    rule_conditions: [ { type: logsource, product: windows, category: process_creation } ]
  - id: sysmon_channel
    type: add_condition
    conditions: { Channel: Microsoft-Windows-Sysmon/Operational }
    rule_conditions: [ { type: logsource, product: windows, service: sysmon } ]
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows category=process_creation", &[]),
        "product=windows category=process_creation when {Channel='Microsoft-Windows-Sysmon/Operational'}"
    );
    assert_eq!(
        describe(&pipeline, "product=windows service=sysmon", &[]),
        "product=windows service=sysmon when {Channel='Microsoft-Windows-Sysmon/Operational'}"
    );
    assert_eq!(
        describe(&pipeline, "product=windows category=file_event", &[]),
        "any logsource"
    );
}

#[test]
fn processing_item_applied_and_processing_state_conditions() {
    let pipeline = clean(
        "
transformations:
  - id: security_4688
    type: add_condition
    conditions: { EventCode: 4688 }
    rule_conditions: [ { type: logsource, product: windows, category: process_creation } ]
  - id: security_names
    type: field_name_mapping
    mapping: { Image: NewProcessName }
    rule_conditions:
      - type: processing_item_applied
        processing_item_id: security_4688
  - id: mark
    type: set_state
    key: stage
    val: windows
    rule_conditions: [ { type: logsource, product: windows } ]
  - id: by_state
    type: field_name_mapping
    mapping: { User: SubjectUserName }
    rule_conditions:
      - { type: processing_state, key: stage, val: windows }
",
    );
    assert_eq!(
        describe(
            &pipeline,
            "product=windows category=process_creation",
            &["Image", "User"]
        ),
        "product=windows category=process_creation when {EventCode=4688} | Image: NewProcessName; User: SubjectUserName"
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image", "User"]),
        "product=windows | Image: =; User: SubjectUserName"
    );
}

#[test]
fn nest_applies_its_items_under_its_conditions() {
    let pipeline = clean(
        "
transformations:
  - id: windows
    type: nest
    rule_conditions: [ { type: logsource, product: windows } ]
    items:
      - id: inner_names
        type: field_name_mapping
        mapping: { Image: process.executable }
      - id: inner_index
        type: set_state
        key: index
        val: logs-windows
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image"]),
        "product=windows index logs-windows | Image: process.executable"
    );
    assert_eq!(
        describe(&pipeline, "product=linux", &["Image"]),
        "any logsource | Image: ="
    );
}

#[test]
fn rule_failure_outside_a_logsource_leaves_those_rules_unmapped() {
    let text = "
name: windows_only
transformations:
  - id: windows_only
    type: rule_failure
    message: only Windows rules are supported
    rule_conditions: [ { type: logsource, product: windows } ]
    rule_cond_not: true
";
    let pipeline = translate(text).pipeline;
    assert_eq!(
        describe(&pipeline, "product=linux category=process_creation", &[]),
        "unmapped: no source in pipeline 'windows_only' for logsource product=linux category=process_creation"
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &[]),
        "product=windows"
    );
    assert_eq!(
        warnings(text),
        [
            "p.yml:4:5: transformation 'windows_only' (rule_failure): the rules it fails are reported as unmapped (skipped) rather than failed with 'only Windows rules are supported'"
        ]
    );
}

#[test]
fn several_files_combine_in_priority_order() {
    let backend = "
name: backend
priority: 50
vars: { Admins: backend }
transformations:
  - { id: prefix, type: field_name_prefix, prefix: data. }
";
    let site = "
name: site
priority: 10
vars: { Admins: site }
transformations:
  - { id: names, type: field_name_mapping, mapping: { Image: exe }, rule_conditions: [ { type: logsource, product: windows } ] }
  - { id: values, type: value_placeholders }
";
    let translation = Pipeline::from_pysigma_yamls(&[("backend.yml", backend), ("site.yml", site)])
        .expect("translates");
    let pipeline = translation.pipeline;
    // site (priority 10) runs first: its mapping is then prefixed by the backend.
    assert_eq!(pipeline.name(), "site+backend");
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image", "User"]),
        "product=windows | Image: data.exe; User: data.User"
    );
    // vars merge in that order, the later (backend) winning.
    assert_eq!(
        pipeline.placeholder("Admins"),
        Some(&["backend".to_owned()][..])
    );
}

#[test]
fn from_yaml_reads_pysigma_files_and_load_yaml_reads_both_formats() {
    let pysigma = "transformations:\n  - { id: n, type: field_name_mapping, mapping: { A: b } }\n";
    assert!(Pipeline::is_pysigma(pysigma));
    let pipeline = Pipeline::from_yaml("my.yml", pysigma).expect("pySigma file");
    assert_eq!(pipeline.name(), "my");
    assert_eq!(
        describe(&pipeline, "product=x", &["A"]),
        "any logsource | A: b"
    );

    let sigrun = "name: own\nsources:\n  - { name: s, logsource: { product: x } }\n";
    assert!(!Pipeline::is_pysigma(sigrun));
    let loaded = Pipeline::load_yaml("own.yml", sigrun).expect("sigrun file");
    assert_eq!(loaded.pipeline.name(), "own");
    assert!(loaded.warnings.is_empty());

    let with_warning = "transformations:\n  - { id: f, type: add_field, field: x }\n";
    assert_eq!(
        Pipeline::from_yaml("w.yml", with_warning)
            .unwrap_err()
            .to_string(),
        "w.yml:2:5: transformation 'f' (add_field): ignored: it edits the rule's `fields` list, which sigrun's converters do not output (Pipeline::load_yaml accepts the file and returns this as a warning)"
    );
    let loaded = Pipeline::load_yaml("w.yml", with_warning).expect("accepted with a warning");
    assert_eq!(loaded.warnings.len(), 1);
}

#[test]
fn a_nest_sees_only_its_own_state_and_hands_it_out() {
    let pipeline = clean(
        "
transformations:
  - { id: outer, type: set_state, key: stage, val: one }
  - id: group
    type: nest
    items:
      - id: sees_outer
        type: field_name_mapping
        mapping: { A: a_inner }
        rule_conditions: [ { type: processing_state, key: stage, val: one } ]
      - { id: inner, type: set_state, key: level, val: 2 }
  - id: sees_inner
    type: field_name_mapping
    mapping: { B: b_after }
    rule_conditions: [ { type: processing_state, key: level, val: 2 } ]
",
    );
    // pySigma runs a nest as a pipeline of its own: it starts with an empty state and
    // copies what it set into the enclosing state afterwards.
    assert_eq!(
        describe(&pipeline, "product=x", &["A", "B"]),
        "any logsource | A: =; B: b_after"
    );
}

#[test]
fn yaml_1_1_booleans_where_pysigma_expects_a_boolean_and_plain_strings_elsewhere() {
    let pipeline = clean(
        "
transformations:
  - id: n
    type: field_name_mapping
    mapping: { User: y }
    rule_conditions: [ { type: logsource, product: windows } ]
    rule_cond_not: yes
  - id: rules_only
    type: field_name_mapping
    mapping: { Image: exe }
    rule_conditions: [ { type: is_sigma_rule } ]
",
    );
    assert_eq!(
        describe(&pipeline, "product=linux", &["User", "Image"]),
        "any logsource | User: y; Image: exe"
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["User", "Image"]),
        "product=windows | User: User; Image: exe"
    );
}

#[test]
fn detection_item_conditions_on_the_pipeline_state() {
    let pipeline = clean(
        "
transformations:
  - { id: mark, type: set_state, key: model, val: ecs, rule_conditions: [ { type: logsource, product: windows } ] }
  - id: ecs_only
    type: field_name_mapping
    mapping: { Image: process.executable }
    detection_item_conditions:
      - { type: processing_state, key: model, val: ecs }
",
    );
    assert_eq!(
        describe(&pipeline, "product=windows", &["Image"]),
        "product=windows | Image: process.executable"
    );
    assert_eq!(
        describe(&pipeline, "product=linux", &["Image"]),
        "any logsource | Image: ="
    );
}

#[test]
fn conditions_on_one_field_keep_the_values_both_allow() {
    let pipeline = clean(
        "
transformations:
  - { id: ids, type: add_condition, conditions: { EventID: [1, 2] } }
  - { id: one, type: add_condition, conditions: { EventID: 1 }, rule_conditions: [ { type: logsource, product: a } ] }
  - { id: other, type: add_condition, conditions: { EventID: 3 }, rule_conditions: [ { type: logsource, product: b } ] }
",
    );
    assert_eq!(
        describe(&pipeline, "product=a", &[]),
        "product=a when {EventID=1}"
    );
    // Nothing left: both tests stay, and the source selects no event (pySigma's query
    // matches none either).
    assert_eq!(
        describe(&pipeline, "product=b", &[]),
        "product=b when {EventID=1|2,EventID=3}"
    );
}

// ---------------------------------------------------------------- refused constructs

#[test]
fn value_transformations_are_refused() {
    assert_eq!(
        refusal(
            "
transformations:
  - id: direction
    type: replace_string
    regex: '^true$'
    replacement: egress
"
        ),
        "p.yml:3:5: transformation 'direction' (replace_string): it rewrites values; sigrun pipelines rename fields and select events but never change a rule's values"
    );
}

#[test]
fn drop_and_failure_of_detection_items_are_refused() {
    assert_eq!(
        refusal("transformations:\n  - { id: d, type: drop_detection_item }\n"),
        "p.yml:2:5: transformation 'd' (drop_detection_item): sigrun pipelines cannot remove detection items from rules"
    );
    assert_eq!(
        refusal("transformations:\n  - { type: detection_item_failure, message: no }\n"),
        "p.yml:2:5: transformation #1 (detection_item_failure): sigrun pipelines cannot fail a rule because of one of its detection items"
    );
    assert_eq!(
        refusal("transformations:\n  - { id: s, type: strict_field_mapping_failure }\n"),
        "p.yml:2:5: transformation 's' (strict_field_mapping_failure): sigrun passes unmapped field names through and cannot fail rules that use them"
    );
}

#[test]
fn query_expression_placeholders_are_refused() {
    assert_eq!(
        refusal(
            "transformations:\n  - { id: q, type: query_expression_placeholders, expression: '{field} in list' }\n"
        ),
        "p.yml:2:5: transformation 'q' (query_expression_placeholders): it inserts target query text; sigrun placeholders are lists of values"
    );
}

#[test]
fn rule_conditions_on_rule_content_are_refused() {
    assert_eq!(
        refusal(
            "
transformations:
  - id: by_tag
    type: field_name_mapping
    mapping: { A: b }
    rule_conditions:
      - { type: tag, tag: attack.t1059 }
"
        ),
        "p.yml:3:5: transformation 'by_tag' (field_name_mapping): rule condition 'tag' depends on the rule's detection or metadata; a sigrun pipeline chooses sources by logsource only"
    );
    assert_eq!(
        refusal(
            "
transformations:
  - id: by_value
    type: field_name_mapping
    mapping: { A: b }
    detection_item_conditions:
      - { type: match_string, cond: any, pattern: x }
"
        ),
        "p.yml:3:5: transformation 'by_value' (field_name_mapping): detection item condition 'match_string' depends on the rule's values; a sigrun pipeline renames a field for all its values alike"
    );
}

#[test]
fn condition_values_sigrun_cannot_compare_are_refused() {
    assert_eq!(
        refusal(
            "
transformations:
  - id: applocker
    type: add_condition
    conditions:
      sourcetype: 'XmlWinEventLog:Microsoft-Windows-AppLocker/*'
"
        ),
        "p.yml:3:5: transformation 'applocker' (add_condition): condition value 'XmlWinEventLog:Microsoft-Windows-AppLocker/*' of 'sourcetype' has a wildcard; sigrun source conditions compare whole values"
    );
    assert_eq!(
        refusal(
            "transformations:\n  - { id: m, type: add_condition, conditions: { 'Image|endswith': x } }\n"
        ),
        "p.yml:2:5: transformation 'm' (add_condition): condition 'Image|endswith' has modifiers; sigrun source conditions compare whole values"
    );
    assert_eq!(
        refusal(
            "transformations:\n  - { id: n, type: add_condition, conditions: { A: x }, negated: true }\n"
        ),
        "p.yml:2:5: transformation 'n' (add_condition): negated conditions cannot carry over: sigrun source conditions select events, they never exclude them"
    );
}

#[test]
fn a_scoped_prefix_for_every_field_is_refused() {
    assert_eq!(
        refusal(
            "
transformations:
  - id: windows_prefix
    type: field_name_prefix
    prefix: winlog.event_data.
    rule_conditions: [ { type: logsource, product: windows } ]
"
        ),
        "p.yml:3:5: transformation 'windows_prefix' (field_name_prefix): it renames every unnamed field for some logsources only; sigrun's fallback_field applies to all sources (name the fields with include_fields to make it exact)"
    );
}

#[test]
fn a_prefix_mapping_over_unnamed_fields_is_refused() {
    assert_eq!(
        refusal(
            "
transformations:
  - id: targets
    type: field_name_prefix_mapping
    mapping: { Target: target. }
"
        ),
        "p.yml:3:5: transformation 'targets' (field_name_prefix_mapping): a sigrun pipeline cannot rename every field that starts with 'Target' (only fields it names, a prefix added to all of them, or fields a mapping named before)"
    );
}

#[test]
fn a_regular_expression_over_unnamed_fields_is_refused_when_it_decides() {
    let text = |op: &str| {
        format!(
            r"
transformations:
  - id: general
    type: field_name_mapping
    mapping: {{ Image: process.executable }}
  - id: event_data
    type: field_name_prefix
    prefix: winlog.event_data.
    field_name_cond_not: true
    field_name_cond_op: {op}
    field_name_conditions:
      - {{ type: processing_item_applied, processing_item_id: general }}
      - {{ type: include_fields, mode: re, fields: ['\w+\..*'] }}
"
        )
    };
    // Fields with a dot keep their name in pySigma, the others get the prefix: no single
    // fallback template says that.
    assert_eq!(
        refusal(&text("or")),
        "p.yml:6:5: transformation 'event_data' (field_name_prefix): its field name conditions (a regular expression) cannot be decided for every field name, and a sigrun pipeline must rename all unnamed fields alike"
    );
    // With an operator pySigma does not know it links with `and`; then the regular
    // expression no longer decides, and the translation is exact.
    let translation = translate(&text("any"));
    assert_eq!(
        translation
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "p.yml:6:5: transformation 'event_data' (field_name_prefix): field_name_cond_op 'any' is neither 'and' nor 'or'; pySigma then links the conditions with 'and', and so does sigrun"
        ]
    );
    assert_eq!(
        describe(&translation.pipeline, "product=windows", &["Image", "User"]),
        "any logsource | Image: process.executable; User: winlog.event_data.User"
    );
}

#[test]
fn a_rule_failure_narrower_than_a_converted_logsource_is_refused() {
    assert_eq!(
        refusal(
            "
transformations:
  - id: no_process_creation
    type: rule_failure
    message: not supported
    rule_conditions: [ { type: logsource, category: process_creation } ]
"
        ),
        "p.yml:3:5: transformation 'no_process_creation' (rule_failure): it fails rules with logsource category=process_creation but not those with the broader logsource any logsource; sigrun can leave a logsource unmapped only together with every broader one"
    );
}

#[test]
fn placeholders_for_some_logsources_only_are_refused() {
    assert_eq!(
        refusal(
            "
vars: { A: x }
transformations:
  - id: windows_values
    type: value_placeholders
    rule_conditions: [ { type: logsource, product: windows } ]
"
        ),
        "p.yml:4:5: transformation 'windows_values' (value_placeholders): it applies to some logsources only; sigrun's placeholders apply to every rule"
    );
}

#[test]
fn file_level_problems_are_refused() {
    assert_eq!(
        refusal("transformations: []\nfoo: 1\n"),
        "p.yml:2:6: unknown top-level key 'foo' (pySigma pipelines have name, priority, transformations, postprocessing, finalizers, vars, allowed_backends)"
    );
    assert_eq!(
        refusal("transformations: []\npostprocessing:\n  - { type: template, template: x }\n"),
        "p.yml:3:3: postprocessing rewrites the query text pySigma produced; sigrun's converters write their own queries, so it cannot carry over"
    );
    assert_eq!(
        refusal("transformations:\n  - { id: x, type: no_such_type }\n"),
        "p.yml:2:5: transformation 'x' (no_such_type): unknown transformation type 'no_such_type'"
    );
    assert_eq!(
        refusal(
            "transformations:\n  - { id: x, type: field_name_mapping, mapping: { A: b }, colour: red }\n"
        ),
        "p.yml:2:5: transformation 'x' (field_name_mapping): unknown parameter 'colour' for type field_name_mapping"
    );
    assert_eq!(
        refusal(
            "transformations:\n  - { id: x, type: field_name_mapping, mapping: { A: b }, rule_conditions: { a: { type: logsource, product: p } }, rule_cond_expr: a and b }\n"
        ),
        "p.yml:2:5: transformation 'x' (field_name_mapping): condition expression names 'b', which is not defined"
    );
}

#[test]
fn shadowed_values_and_lists_of_tables_are_refused() {
    assert_eq!(
        refusal(
            "
vars: { A: x }
transformations:
  - { id: stars, type: wildcard_placeholders }
  - { id: values, type: value_placeholders }
"
        ),
        "p.yml:5:5: transformation 'values' (value_placeholders): transformation 'stars' (wildcard_placeholders) comes first and already turns %A% into a wildcard, so these values are never used"
    );
    assert_eq!(
        refusal(
            "transformations:\n  - { id: t, type: set_state, key: query_table, val: [A, B] }\n"
        ),
        "p.yml:2:5: transformation 't' (set_state): query_table must be one string for sigrun, found a list"
    );
}

// ---------------------------------------------------------------- warnings

#[test]
fn constructs_without_effect_on_sigrun_output_are_warnings() {
    assert_eq!(
        warnings(
            "
transformations:
  - { id: f, type: add_field, field: CommandLine }
  - { id: a, type: set_custom_attribute, attribute: x, value: 1 }
  - { id: w, type: wildcard_placeholders }
  - { id: s, type: set_state, key: data_model, val: endpoint }
  - id: c
    type: add_condition
    conditions: { A: b }
    rule_conditions: [ { type: logsource, product: Windows } ]
    field_name_conditions: [ { type: include_fields, fields: [A] } ]
finalizers:
  - { type: concat }
"
        ),
        [
            "p.yml:3:5: transformation 'f' (add_field): ignored: it edits the rule's `fields` list, which sigrun's converters do not output",
            "p.yml:4:5: transformation 'a' (set_custom_attribute): ignored: custom attributes are read only by pySigma backends",
            "p.yml:5:5: transformation 'w' (wildcard_placeholders): sigrun pipelines cannot turn placeholders into wildcards; rules with placeholders that have no values fail unless converted with --wildcard-placeholders",
            "p.yml:7:5: transformation 'c' (add_condition): logsource product 'Windows' is compared ignoring case in sigrun; pySigma would match only rules that write it exactly so",
            "p.yml:7:5: transformation 'c' (add_condition): detection item and field name conditions have no effect here: pySigma evaluates them only for transformations of detection items",
            "p.yml:13:3: finalizers are ignored: they format pySigma's output, and sigrun has its own output formats (--format)",
            "p.yml:6:5: transformation 's' (set_state): ignored: state 'data_model' is read by no condition, and sigrun gives a meaning only to 'query_table' (the source's table) and 'index' (its index)",
        ]
    );
}
