//! Resolution: which sources a rule's logsource gets, and what its fields become.

use std::borrow::Cow;

use sigrun_pipeline::{
    FieldTarget, LogSource, Pipeline, Resolution, SourceVariant, ValueTransform,
};

/// Sources of every specificity, to see that only the most specific ones are kept.
const LAYERED_SPECIFICITY: &str = r"
name: lab
sources:
  - name: any_windows
    logsource: { product: windows }
  - name: sysmon_proc
    logsource: { product: windows, category: process_creation }
    conditions: [ { EventID: 1 } ]
  - name: edr_proc
    logsource: { product: windows, category: process_creation }
    conditions: [ { EventID: 100 } ]
  - name: proc_any_product
    logsource: { category: process_creation }
  - name: security_only_product_rules
    logsource: { product: windows, service: security, category: null }
  - name: keyword_rules
    logsource: { product: windows, category: null, service: null }
";

fn lab() -> Pipeline {
    Pipeline::from_yaml("lab.yml", LAYERED_SPECIFICITY).expect("fixture parses")
}

fn logsource<'a>(
    product: Option<&'a str>,
    category: Option<&'a str>,
    service: Option<&'a str>,
) -> LogSource<'a> {
    LogSource {
        category,
        product,
        service,
    }
}

fn variant_names(resolution: &Resolution<'_>) -> Vec<String> {
    match resolution {
        Resolution::Mapped(variants) => variants.iter().map(|v| v.name().to_owned()).collect(),
        Resolution::Unmapped { reason } => vec![format!("unmapped: {reason}")],
    }
}

fn names(list: &[&str]) -> FieldTarget<'static> {
    FieldTarget::Names(Cow::Owned(list.iter().map(|s| (*s).to_owned()).collect()))
}

fn variants<'p>(pipeline: &'p Pipeline, logsource: &LogSource<'_>) -> Vec<SourceVariant<'p>> {
    match pipeline.resolve(logsource) {
        Resolution::Mapped(variants) => variants,
        Resolution::Unmapped { reason } => panic!("expected a mapping: {reason}"),
    }
}

#[test]
fn most_specific_sources_win_and_ties_are_all_kept_in_file_order() {
    let lab = lab();
    let rule = logsource(Some("windows"), Some("process_creation"), None);
    assert_eq!(
        variant_names(&lab.resolve(&rule)),
        ["sysmon_proc", "edr_proc"]
    );
}

#[test]
fn a_less_specific_source_serves_what_nothing_more_specific_names() {
    let lab = lab();
    // Only `any_windows` (product) applies to an unknown Windows category.
    let rule = logsource(Some("windows"), Some("image_load"), None);
    assert_eq!(variant_names(&lab.resolve(&rule)), ["any_windows"]);
    // A rule without product: only the source that does not name product applies.
    let rule = logsource(None, Some("process_creation"), None);
    assert_eq!(variant_names(&lab.resolve(&rule)), ["proc_any_product"]);
}

#[test]
fn null_requires_the_rule_to_lack_the_key() {
    let lab = lab();
    let only_product = logsource(Some("windows"), None, None);
    assert_eq!(
        variant_names(&lab.resolve(&only_product)),
        ["keyword_rules"]
    );
    let security = logsource(Some("windows"), None, Some("security"));
    assert_eq!(
        variant_names(&lab.resolve(&security)),
        ["security_only_product_rules"]
    );
    // With a category the null-category sources do not apply, and `any_windows` is left.
    let security_with_category = logsource(Some("windows"), Some("x"), Some("security"));
    assert_eq!(
        variant_names(&lab.resolve(&security_with_category)),
        ["any_windows"]
    );
}

#[test]
fn logsource_values_compare_ignoring_ascii_case() {
    let lab = lab();
    let rule = logsource(Some("Windows"), Some("PROCESS_CREATION"), None);
    assert_eq!(
        variant_names(&lab.resolve(&rule)),
        ["sysmon_proc", "edr_proc"]
    );
}

#[test]
fn unmapped_reason_names_pipeline_and_logsource() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let linux = logsource(Some("linux"), Some("process_creation"), None);
    assert_eq!(
        windows.resolve(&linux),
        Resolution::Unmapped {
            reason: "no source in pipeline 'windows' for logsource product=linux \
                     category=process_creation"
                .to_owned()
        }
    );
    let all_three = logsource(Some("windows"), Some("nothing_like_it"), Some("nor_this"));
    assert_eq!(
        windows.resolve(&all_three),
        Resolution::Unmapped {
            reason: "no source in pipeline 'windows' for logsource product=windows \
                     category=nothing_like_it service=nor_this"
                .to_owned()
        }
    );
    assert_eq!(
        windows.resolve(&LogSource::default()),
        Resolution::Unmapped {
            reason: "no source in pipeline 'windows' for logsource (empty)".to_owned()
        }
    );
}

#[test]
fn windows_process_creation_is_sysmon_1_and_security_4688() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let rule = logsource(Some("windows"), Some("process_creation"), None);
    let found = variants(windows, &rule);
    let names: Vec<_> = found.iter().map(SourceVariant::name).collect();
    assert_eq!(names, ["sysmon_process_creation", "security_4688"]);
    assert!(found.iter().all(|v| v.pipeline_name() == "windows"));

    // Sysmon names are the Sigma names.
    let sysmon = found[0];
    assert_eq!(sysmon.field("Image"), FieldTarget::SameName);
    assert_eq!(sysmon.field("Hashes"), FieldTarget::SameName);
    assert_eq!(sysmon.value_transform("ProcessId"), None);
}

#[test]
fn security_4688_renames_and_unavailable_fields() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let rule = logsource(Some("windows"), Some("process_creation"), None);
    let security = variants(windows, &rule)[1];
    assert_eq!(security.name(), "security_4688");

    assert_eq!(security.field("Image"), names(&["NewProcessName"]));
    assert_eq!(security.field("ParentImage"), names(&["ParentProcessName"]));
    assert_eq!(security.field("ProcessId"), names(&["NewProcessId"]));
    assert_eq!(security.field("ParentProcessId"), names(&["ProcessId"]));
    assert_eq!(security.field("LogonId"), names(&["SubjectLogonId"]));
    assert_eq!(security.field("IntegrityLevel"), names(&["MandatoryLabel"]));
    assert_eq!(security.field("CommandLine"), FieldTarget::SameName);
    for sysmon_only in [
        "Hashes",
        "OriginalFileName",
        "ParentCommandLine",
        "User",
        "ProcessGuid",
        "CurrentDirectory",
        "Company",
    ] {
        assert_eq!(
            security.field(sysmon_only),
            FieldTarget::Unavailable,
            "{sysmon_only}"
        );
    }
    assert_eq!(
        security.value_transform("ProcessId"),
        Some(ValueTransform::Hex)
    );
    assert_eq!(
        security.value_transform("IntegrityLevel"),
        Some(ValueTransform::IntegrityLevelSid)
    );
    // NXLog's System field names, pipeline-wide.
    assert_eq!(security.field("Computer"), names(&["Computer", "Hostname"]));
}

#[test]
fn windows_registry_set_adds_security_4657() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let rule = logsource(Some("windows"), Some("registry_set"), None);
    let found = variants(windows, &rule);
    let names_found: Vec<_> = found.iter().map(SourceVariant::name).collect();
    assert_eq!(
        names_found,
        ["sysmon_registry_set", "security_4657_registry_set"]
    );
    let security = found[1];
    assert_eq!(security.field("TargetObject"), names(&["ObjectName"]));
    assert_eq!(security.field("Details"), names(&["NewValue"]));
    assert_eq!(security.field("EventType"), FieldTarget::Unavailable);
    assert_eq!(
        security.value_transform("TargetObject"),
        Some(ValueTransform::RegistryNativePath)
    );
}

#[test]
fn windows_keyword_rule_with_only_product_gets_every_event() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let found = variants(windows, &logsource(Some("windows"), None, None));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name(), "windows_all_events");
    assert_eq!(found[0].conditions().len(), 1);
    assert!(found[0].conditions()[0].entries().is_empty());
    // ... but an unknown category is reported, not scanned against everything.
    assert!(matches!(
        windows.resolve(&logsource(Some("windows"), Some("kernel_magic"), None)),
        Resolution::Unmapped { .. }
    ));
}

#[test]
fn ecs_maps_commandline_to_event_data_then_ecs() {
    let ecs = Pipeline::builtin("ecs").expect("built-in");
    let rule = logsource(Some("windows"), Some("process_creation"), None);
    let found = variants(ecs, &rule);
    let sysmon = found[0];
    assert_eq!(sysmon.name(), "sysmon_process_creation");
    assert_eq!(
        sysmon.field("CommandLine"),
        names(&["winlog.event_data.CommandLine", "process.command_line"])
    );
    assert_eq!(
        sysmon.field("OriginalFileName"),
        names(&[
            "winlog.event_data.OriginalFileName",
            "process.pe.original_file_name"
        ])
    );
    // No ECS counterpart: the raw event_data copy.
    assert_eq!(sysmon.field("Hashes"), names(&["winlog.event_data.Hashes"]));
    assert_eq!(sysmon.field("EventID"), names(&["winlog.event_id"]));
    assert_eq!(
        sysmon.field("Computer"),
        names(&["winlog.computer_name", "host.name"])
    );

    let security = found[1];
    assert_eq!(security.name(), "security_4688");
    assert_eq!(
        security.field("CommandLine"),
        names(&["winlog.event_data.CommandLine", "process.command_line"])
    );
    assert_eq!(
        security.field("Image"),
        names(&["winlog.event_data.NewProcessName", "process.executable"])
    );
    assert_eq!(security.field("Hashes"), FieldTarget::Unavailable);
}

#[test]
fn ecs_image_load_pe_metadata_is_the_loaded_file() {
    let ecs = Pipeline::builtin("ecs").expect("built-in");
    let found = variants(ecs, &logsource(Some("windows"), Some("image_load"), None));
    assert_eq!(
        found[0].field("Description"),
        names(&["winlog.event_data.Description", "file.pe.description"])
    );
}

#[test]
fn ecs_wmi_activity_fields_are_user_data() {
    let ecs = Pipeline::builtin("ecs").expect("built-in");
    let found = variants(ecs, &logsource(Some("windows"), None, Some("wmi")));
    assert_eq!(
        found[0].field("CONSUMER"),
        names(&["winlog.user_data.CONSUMER"])
    );
    assert_eq!(found[0].field("User"), names(&["winlog.user_data.User"]));
    assert_eq!(found[0].field("EventID"), names(&["winlog.event_id"]));
}
