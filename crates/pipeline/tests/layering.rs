//! Stacking pipelines: later layers replace, append, remove and rename.

use std::borrow::Cow;

use sigrun_pipeline::{FieldTarget, LogSource, Pipeline, PipelineError, Resolution, TextPosition};

const BASE: &str = r"
name: base
description: the base layer
fields:
  Computer: Computer
  User: User
placeholders:
  Admins: [a]
sources:
  - name: sysmon
    logsource: { product: windows, category: process_creation }
    conditions: [ { EventID: 1 } ]
  - name: audit
    logsource: { product: windows, category: process_creation }
    conditions: [ { EventID: 4688 } ]
    fields: { Image: NewProcessName }
  - name: security
    logsource: { product: windows, service: security }
";

const SITE: &str = r"
name: site
remove_sources: [security]
fields:
  Computer: [Computer, Hostname]
fallback_field: 'data.{name}'
placeholders:
  Admins: [b, c]
  Servers: [s1]
sources:
  - name: audit
    logsource: { product: windows, category: process_creation }
    conditions: [ { EventID: 4688, Channel: Security } ]
  - name: edr
    logsource: { product: windows, category: process_creation }
";

fn parse(file: &str, text: &str) -> Pipeline {
    Pipeline::from_yaml(file, text).expect("fixture parses")
}

fn names(list: &[&str]) -> FieldTarget<'static> {
    FieldTarget::Names(Cow::Owned(list.iter().map(|s| (*s).to_owned()).collect()))
}

const PROCESS_CREATION: LogSource<'static> = LogSource {
    category: Some("process_creation"),
    product: Some("windows"),
    service: None,
};

#[test]
fn sources_are_replaced_in_place_appended_and_removed() {
    let stacked =
        Pipeline::stack(&[&parse("base.yml", BASE), &parse("site.yml", SITE)]).expect("stacks");
    assert_eq!(stacked.name(), "base+site");
    let order: Vec<_> = stacked.sources().map(|s| s.name()).collect();
    assert_eq!(order, ["sysmon", "audit", "edr"]);

    let Resolution::Mapped(variants) = stacked.resolve(&PROCESS_CREATION) else {
        panic!("process_creation must resolve");
    };
    let audit = variants[1];
    // The whole source was replaced: the new conditions, and no more `Image` rename.
    assert_eq!(audit.conditions()[0].entries().len(), 2);
    assert_eq!(audit.field("Image"), names(&["data.Image"]));

    let security = LogSource {
        category: None,
        product: Some("windows"),
        service: Some("security"),
    };
    assert_eq!(
        stacked.resolve(&security),
        Resolution::Unmapped {
            reason: "no source in pipeline 'base+site' for logsource product=windows \
                     service=security"
                .to_owned()
        }
    );
}

#[test]
fn fields_placeholders_fallback_and_description_merge() {
    let stacked =
        Pipeline::stack(&[&parse("base.yml", BASE), &parse("site.yml", SITE)]).expect("stacks");
    let sysmon = stacked.sources().next().expect("first source");
    assert_eq!(sysmon.field("Computer"), names(&["Computer", "Hostname"]));
    assert_eq!(sysmon.field("User"), names(&["User"]));
    assert_eq!(sysmon.field("Hashes"), names(&["data.Hashes"]));
    assert_eq!(
        stacked.placeholder("Admins"),
        Some(&["b".to_owned(), "c".to_owned()][..])
    );
    assert_eq!(stacked.placeholder("Servers"), Some(&["s1".to_owned()][..]));
    // The site layer has no description, so the base's stays.
    assert_eq!(stacked.description(), Some("the base layer"));
}

#[test]
fn removing_an_unknown_source_is_an_error_with_its_line() {
    let typo = parse("typo.yml", "name: typo\nremove_sources: [securty]\n");
    assert_eq!(
        Pipeline::stack(&[&parse("base.yml", BASE), &typo]),
        Err(PipelineError::UnknownRemovedSource {
            file: "typo.yml".to_owned(),
            at: Some(TextPosition {
                line: 2,
                column: 18
            }),
            source_name: "securty".to_owned(),
        })
    );
    assert_eq!(
        Pipeline::stack(&[&typo]).map_err(|e| e.to_string()),
        Err(
            "typo.yml:2:18: remove_sources names 'securty', which no earlier pipeline in \
             the stack defines"
                .to_owned()
        )
    );
}

#[test]
fn a_single_layer_is_itself_and_no_layer_is_an_error() {
    let base = parse("base.yml", BASE);
    assert_eq!(Pipeline::stack(&[&base]), Ok(base.clone()));
    assert_eq!(Pipeline::stack(&[]), Err(PipelineError::EmptyStack));
}

#[test]
fn a_site_layer_can_drop_the_4688_variant_of_the_builtin() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let no_audit = parse(
        "no_audit.yml",
        "name: no-audit\nremove_sources: [security_4688]\n",
    );
    let stacked = Pipeline::stack(&[windows, &no_audit]).expect("stacks");
    let Resolution::Mapped(variants) = stacked.resolve(&PROCESS_CREATION) else {
        panic!("process_creation must resolve");
    };
    let names: Vec<_> = variants.iter().map(|v| v.name()).collect();
    assert_eq!(names, ["sysmon_process_creation"]);
    assert_eq!(stacked.sources().len(), windows.sources().len() - 1);
}
