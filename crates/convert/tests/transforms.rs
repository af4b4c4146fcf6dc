//! Pipeline value transforms in the KQL pipelines: exact queries for values that the data
//! model stores in another type or vocabulary than the Sysmon text Sigma rules are written
//! against (Defender's long `LogonId`, ASIM's datetime file times, `ActionType` for
//! `Initiated`, hash columns, parent file names), and the exact errors where a value has no
//! faithful equivalent.

mod common;

use sigrun_convert::{Conversion, ConvertError, Options, Target, convert};
use sigrun_pipeline::Pipeline;

fn conversion(pipeline: &str, logsource: &str, body: &str) -> Result<Conversion, ConvertError> {
    let rule = common::selection(logsource, body);
    let pipeline = Pipeline::builtin(pipeline).expect("built-in pipeline");
    convert(&rule, Target::Kusto, Some(pipeline), &Options::default())
}

const PROCESS: &str = "{product: windows, category: process_creation}";
const NETWORK: &str = "{product: windows, category: network_connection}";
const FILE: &str = "{product: windows, category: file_event}";
const IMAGE_LOAD: &str = "{product: windows, category: image_load}";

/// The one query of a conversion, with no warnings.
fn query(pipeline: &str, logsource: &str, body: &str) -> String {
    let conversion = conversion(pipeline, logsource, body)
        .unwrap_or_else(|e| panic!("{body}: converts, but: {e}"));
    assert_eq!(conversion.warnings, Vec::<String>::new(), "{body}");
    assert_eq!(conversion.queries.len(), 1, "{body}");
    conversion.queries[0].text.clone()
}

fn error(pipeline: &str, logsource: &str, body: &str) -> String {
    match conversion(pipeline, logsource, body) {
        Ok(c) => panic!("{body}: expected an error, got {}", c.text()),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// integer_from_hex: Defender's LogonId is a long, Sysmon logs '0x3e7'.
// ---------------------------------------------------------------------------------------------

#[test]
fn hex_text_of_a_number_is_the_number() {
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId: '0x3e7'"),
        "DeviceProcessEvents\n| where LogonId == 999"
    );
    // Case is ignored as in every Sigma string match; a YAML number is the number.
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId: '0X3E7'"),
        "DeviceProcessEvents\n| where LogonId == 999"
    );
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId: [999, '0x0']"),
        "DeviceProcessEvents\n| where LogonId == 999 or LogonId == 0"
    );
    // A LUID above i64::MAX is the long with the same bits, as tohex() writes it back.
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId: '0xffffffffffffffff'"),
        "DeviceProcessEvents\n| where LogonId == -1"
    );
}

#[test]
fn text_that_is_no_hex_number_never_equals_it() {
    let conversion = conversion(
        "kusto_defender",
        PROCESS,
        "Image|endswith: '\\cmd.exe'\nLogonId: ['0x3e7', 'null', '0x03e7', '999']",
    )
    .expect("converts");
    assert_eq!(
        conversion.text(),
        "DeviceProcessEvents\n| where FolderPath endswith \"\\\\cmd.exe\" and LogonId == 999"
    );
    assert_eq!(
        conversion.warnings,
        [
            "source 'process_creation' stores 'LogonId' as an integer, which Sysmon logs as hex text ('0x3e7'): 'null' never equals that text, so the test is false",
            "source 'process_creation' stores 'LogonId' as an integer, which Sysmon logs as hex text ('0x3e7'): '0x03e7' never equals that text, so the test is false",
            "source 'process_creation' stores 'LogonId' as an integer, which Sysmon logs as hex text ('0x3e7'): '999' never equals that text, so the test is false",
        ]
    );
    // Sysmon writes lower-case digits: a cased upper-case value never matches.
    assert_eq!(
        error("kusto_defender", PROCESS, "LogonId|cased: '0x3E7'"),
        "in source 'process_creation' the condition is always false: it does not depend on the event"
    );
}

#[test]
fn patterns_match_the_hex_text_built_from_the_number() {
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId|contains: '3e'"),
        "DeviceProcessEvents\n| where strcat(\"0x\", tohex(LogonId)) contains \"3e\""
    );
    assert_eq!(
        query(
            "kusto_defender",
            PROCESS,
            "LogonId|startswith: ['0x3', '0x4']"
        ),
        "DeviceProcessEvents\n| where strcat(\"0x\", tohex(LogonId)) startswith \"0x3\" or strcat(\"0x\", tohex(LogonId)) startswith \"0x4\""
    );
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId|re: '^0x3e[0-9]$'"),
        "DeviceProcessEvents\n| where strcat(\"0x\", tohex(LogonId)) matches regex \"^0x3e[0-9]$\""
    );
}

#[test]
fn null_exists_and_comparisons_read_the_stored_number() {
    assert_eq!(
        query(
            "kusto_defender",
            PROCESS,
            "LogonId: null\nParentProcessId|gte: 4"
        ),
        "DeviceProcessEvents\n| where isempty(LogonId) and todouble(InitiatingProcessId) >= 4"
    );
    assert_eq!(
        query("kusto_defender", PROCESS, "LogonId|exists: true"),
        "DeviceProcessEvents\n| where isnotempty(LogonId)"
    );
    assert_eq!(
        error("kusto_defender", PROCESS, "LogonId|cidr: '10.0.0.0/8'"),
        "field 'LogonId' is stored as an integer in source 'process_creation': in 10.0.0.0/8 does not apply to a number"
    );
}

#[test]
fn other_pipelines_keep_the_text() {
    // ASIM keeps Sysmon's text in a string column: no transform.
    assert_eq!(
        query("kusto_asim", PROCESS, "LogonId: '0x3e7'"),
        "imProcessCreate\n| where TargetUserSessionId =~ \"0x3e7\""
    );
}

#[test]
fn languages_without_the_text_form_refuse_it() {
    let yaml = "name: site\nsources:\n  - name: proc\n    logsource: { product: windows, category: process_creation }\n    transforms: { LogonId: integer_from_hex }\n";
    let pipeline = Pipeline::from_yaml("site.yml", yaml).expect("pipeline");
    let rule = common::selection(PROCESS, "LogonId|contains: '3e7'");
    let got = convert(&rule, Target::Splunk, Some(&pipeline), &Options::default())
        .map(|c| c.text())
        .map_err(|e| e.to_string());
    assert_eq!(
        got,
        Err("splunk cannot express a test on a field stored as another type on field 'LogonId': the source stores an integer (Sysmon logs it as hex text, '0x3e7'), and the language cannot build that text from it".to_owned())
    );
    // Equality needs no text form: every language writes it.
    let rule = common::selection(PROCESS, "LogonId: '0x3e7'");
    let got = convert(&rule, Target::Splunk, Some(&pipeline), &Options::default())
        .map(|c| c.text())
        .map_err(|e| e.to_string());
    assert_eq!(got, Ok("LogonId=999".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// datetime_from_text: ASIM's TargetFileCreationTime is a datetime, Sysmon logs
// 'yyyy-MM-dd HH:mm:ss.fff'.
// ---------------------------------------------------------------------------------------------

#[test]
fn time_text_is_built_from_the_datetime() {
    assert_eq!(
        query("kusto_asim", FILE, "CreationUtcTime|startswith: '2023-03-'"),
        "imFileEvent\n| where format_datetime(TargetFileCreationTime, \"yyyy-MM-dd HH:mm:ss.fff\") startswith \"2023-03-\""
    );
    assert_eq!(
        query(
            "kusto_asim",
            FILE,
            "CreationUtcTime: '2023-03-15 12:34:56.789'"
        ),
        "imFileEvent\n| where format_datetime(TargetFileCreationTime, \"yyyy-MM-dd HH:mm:ss.fff\") =~ \"2023-03-15 12:34:56.789\""
    );
    assert_eq!(
        query("kusto_asim", FILE, "CreationUtcTime|re: '^2023-0[3-6]-'"),
        "imFileEvent\n| where format_datetime(TargetFileCreationTime, \"yyyy-MM-dd HH:mm:ss.fff\") matches regex \"^2023-0[3-6]-\""
    );
}

#[test]
fn time_parts_and_null_read_the_stored_datetime() {
    assert_eq!(
        query("kusto_asim", FILE, "CreationUtcTime|hour: 3"),
        "imFileEvent\n| where datetime_part(\"hour\", todatetime(TargetFileCreationTime)) == 3"
    );
    assert_eq!(
        query("kusto_asim", FILE, "CreationUtcTime: null"),
        "imFileEvent\n| where isempty(TargetFileCreationTime)"
    );
    assert_eq!(
        error("kusto_asim", FILE, "CreationUtcTime|gt: 5"),
        "field 'CreationUtcTime' is stored as a datetime in source 'file_event': > 5 does not apply to a date and time; text (as Sysmon logs it), regex, time-part, null and exists tests do"
    );
}

// ---------------------------------------------------------------------------------------------
// value_map: Initiated is Defender's ActionType, ASIM's NetworkDirection.
// ---------------------------------------------------------------------------------------------

#[test]
fn initiated_is_the_defender_action_type() {
    assert_eq!(
        query(
            "kusto_defender",
            NETWORK,
            "Initiated: 'true'\nDestinationPort: 445"
        ),
        "DeviceNetworkEvents\n| where ActionType in~ (\"ConnectionSuccess\", \"ConnectionFailed\", \"ConnectionRequest\") and RemotePort == 445"
    );
    // A YAML boolean and any case of the text are the same Sigma value.
    assert_eq!(
        query("kusto_defender", NETWORK, "Initiated: false"),
        "DeviceNetworkEvents\n| where ActionType =~ \"InboundConnectionAccepted\""
    );
    assert_eq!(
        query("kusto_defender", NETWORK, "Initiated: 'True'"),
        query("kusto_defender", NETWORK, "Initiated: true")
    );
}

#[test]
fn unmapped_initiated_values_are_errors() {
    assert_eq!(
        error("kusto_defender", NETWORK, "Initiated: 'maybe'"),
        "field 'Initiated' is stored as other values (a value map) in source 'network_connection': 'maybe' is none of the mapped values ('false', 'true')"
    );
    assert_eq!(
        error("kusto_defender", NETWORK, "Initiated|contains: 'ru'"),
        "field 'Initiated' is stored as other values (a value map) in source 'network_connection': only whole values ('false', 'true') can be mapped, not '*ru*'"
    );
    assert_eq!(
        error("kusto_defender", NETWORK, "Initiated|cased: 'True'"),
        "field 'Initiated' is stored as other values (a value map) in source 'network_connection': 'True' (cased) is none of the mapped values ('false', 'true')"
    );
}

#[test]
fn registry_event_kinds_are_the_defender_action_type() {
    const REGISTRY: &str = "{product: windows, category: registry_event}";
    assert_eq!(
        query(
            "kusto_defender",
            REGISTRY,
            "EventType: ['SetValue', 'DeleteValue']"
        ),
        "DeviceRegistryEvents\n| where ActionType in~ (\"RegistryValueSet\", \"RegistryValueDeleted\")"
    );
    assert_eq!(
        query("kusto_defender", REGISTRY, "EventID: [12, 13]"),
        "DeviceRegistryEvents\n| where ActionType in~ (\"RegistryKeyCreated\", \"RegistryKeyDeleted\", \"RegistryValueDeleted\", \"RegistryValueSet\")"
    );
    assert_eq!(
        error("kusto_defender", REGISTRY, "EventID: 4657"),
        "field 'EventID' is stored as other values (a value map) in source 'registry_event': 4657 is none of the mapped values ('12', '13', '14')"
    );
}

#[test]
fn asim_direction_and_ip_version_are_mapped() {
    assert_eq!(
        query(
            "kusto_asim",
            NETWORK,
            "Initiated: 'true'\nDestinationIsIpv6: 'false'"
        ),
        "imNetworkSession\n| where NetworkDirection =~ \"Outbound\" and NetworkProtocolVersion =~ \"IPv4\""
    );
}

// ---------------------------------------------------------------------------------------------
// hash_columns: Sysmon's Hashes text split into one column per algorithm.
// ---------------------------------------------------------------------------------------------

#[test]
fn hashes_go_to_the_algorithm_column() {
    assert_eq!(
        query(
            "kusto_defender",
            PROCESS,
            "Hashes|contains:\n    - 'SHA256=B5ACF14CDAC40BE590318DEE95425D0746E85B1B7B1CBD14DA66F21F2522BF4D'\n    - 'MD5=09D278F9DE118EF09163C6140255C690'\n    - 'sha1=0123'"
        ),
        "DeviceProcessEvents\n| where SHA256 =~ \"B5ACF14CDAC40BE590318DEE95425D0746E85B1B7B1CBD14DA66F21F2522BF4D\" or MD5 =~ \"09D278F9DE118EF09163C6140255C690\" or SHA1 startswith \"0123\""
    );
    assert_eq!(
        query(
            "kusto_asim",
            PROCESS,
            "Hashes|contains: 'IMPHASH=A9D50692E95B79723F3E76FCF70D023E'"
        ),
        "imProcessCreate\n| where TargetProcessIMPHASH =~ \"A9D50692E95B79723F3E76FCF70D023E\""
    );
}

#[test]
fn an_algorithm_without_a_column_is_a_data_gap() {
    let conversion = conversion(
        "kusto_defender",
        IMAGE_LOAD,
        "Hashes|contains:\n    - 'IMPHASH=A9D50692E95B79723F3E76FCF70D023E'\n    - 'MD5=09D278F9DE118EF09163C6140255C690'",
    )
    .expect("converts");
    assert_eq!(
        conversion.text(),
        "DeviceImageLoadEvents\n| where MD5 =~ \"09D278F9DE118EF09163C6140255C690\""
    );
    assert_eq!(
        conversion.warnings,
        [
            "source 'image_load' does not carry 'Hashes (IMPHASH)'; tests on them were treated as on an absent field"
        ]
    );
    let only_imphash = conversion_error(
        "kusto_defender",
        PROCESS,
        "Hashes|contains: 'IMPHASH=A9D50692E95B79723F3E76FCF70D023E'",
    );
    assert!(only_imphash.is_data_gap());
    assert_eq!(
        only_imphash.to_string(),
        "in source 'process_creation' the condition is always false: the source does not carry 'Hashes (IMPHASH)'"
    );
}

fn conversion_error(pipeline: &str, logsource: &str, body: &str) -> ConvertError {
    conversion(pipeline, logsource, body).expect_err("an error")
}

#[test]
fn hashes_need_one_named_pair() {
    assert_eq!(
        error(
            "kusto_defender",
            PROCESS,
            "Hashes|contains: '09D278F9DE118EF09163C6140255C690'"
        ),
        "field 'Hashes' is stored as one column per hash algorithm in source 'process_creation': only `contains` of one ALGORITHM=hex pair (algorithms MD5, SHA1, SHA256, IMPHASH) splits into a column, not '*09D278F9DE118EF09163C6140255C690*'"
    );
    assert_eq!(
        error("kusto_defender", PROCESS, "Hashes: 'SHA1=0123,MD5=4567'"),
        "field 'Hashes' is stored as one column per hash algorithm in source 'process_creation': only `contains` of one ALGORITHM=hex pair (algorithms MD5, SHA1, SHA256, IMPHASH) splits into a column, not 'SHA1=0123,MD5=4567'"
    );
}

// ---------------------------------------------------------------------------------------------
// file_name: Defender has only the parent's file name outside DeviceProcessEvents.
// ---------------------------------------------------------------------------------------------

#[test]
fn parent_image_ends_are_parent_file_names() {
    assert_eq!(
        query(
            "kusto_defender",
            NETWORK,
            "ParentImage|endswith: ['\\rundll32.exe', 'host.exe']"
        ),
        "DeviceNetworkEvents\n| where InitiatingProcessParentFileName =~ \"rundll32.exe\" or InitiatingProcessParentFileName endswith \"host.exe\""
    );
    assert_eq!(
        query(
            "kusto_defender",
            PROCESS,
            "GrandParentImage|endswith: '\\rundll32.exe'"
        ),
        "DeviceProcessEvents\n| where InitiatingProcessParentFileName =~ \"rundll32.exe\""
    );
}

#[test]
fn parent_folders_are_a_data_gap() {
    let folders = conversion_error(
        "kusto_defender",
        FILE,
        "TargetFilename|endswith: '\\ntds.dit'\nParentImage|contains: ['\\Temp\\', '\\apache']",
    );
    assert!(folders.is_data_gap());
    assert_eq!(
        folders.to_string(),
        "in source 'file_event' the condition is always false: the source does not carry 'ParentImage (folder path)'"
    );
    // A whole path names the folder too; in a filter, the filter drops out with a warning.
    let filtered = conversion(
        "kusto_defender",
        NETWORK,
        "Image|endswith: '\\rundll32.exe'\nParentImage|re: 'x'",
    )
    .expect_err("the selection needs the parent's folder");
    assert!(filtered.is_data_gap());
    let rule = common::rule(
        "title: t\nlogsource: {product: windows, category: network_connection}\ndetection:\n    sel:\n        Image|endswith: '\\rundll32.exe'\n    filter:\n        ParentImage: 'C:\\Windows\\System32\\svchost.exe'\n    condition: sel and not filter\n",
    );
    let pipeline = Pipeline::builtin("kusto_defender").expect("built-in");
    let converted =
        convert(&rule, Target::Kusto, Some(pipeline), &Options::default()).expect("converts");
    assert_eq!(
        converted.text(),
        "DeviceNetworkEvents\n| where InitiatingProcessFolderPath endswith \"\\\\rundll32.exe\""
    );
    assert_eq!(
        converted.warnings,
        [
            "source 'network_connection' does not carry 'ParentImage (folder path)'; tests on them were treated as on an absent field"
        ]
    );
}
