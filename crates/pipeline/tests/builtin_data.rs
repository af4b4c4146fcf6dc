//! The embedded pipelines against the Sigma taxonomy: every category's Sysmon EventIDs and
//! every service's channels, in both `windows` and `ecs`.

use sigrun_pipeline::{ConditionValue, LogSource, Pipeline, PipelineError, Resolution};

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const POWERSHELL: [&str; 2] = [
    "Microsoft-Windows-PowerShell/Operational",
    "PowerShellCore/Operational",
];

/// The taxonomy appendix's table: category (product windows) → channel(s) and EventIDs of
/// the first (Sysmon or PowerShell) source.
fn category_table() -> Vec<(&'static str, Vec<&'static str>, Vec<i64>)> {
    let sysmon = |category, ids: &[i64]| (category, vec![SYSMON], ids.to_vec());
    vec![
        sysmon("process_creation", &[1]),
        sysmon("file_change", &[2]),
        sysmon("network_connection", &[3]),
        sysmon("sysmon_status", &[4, 16]),
        sysmon("process_termination", &[5]),
        sysmon("driver_load", &[6]),
        sysmon("image_load", &[7]),
        sysmon("create_remote_thread", &[8]),
        sysmon("raw_access_thread", &[9]),
        sysmon("process_access", &[10]),
        sysmon("file_event", &[11]),
        sysmon("registry_add", &[12]),
        sysmon("registry_delete", &[12]),
        sysmon("registry_set", &[13]),
        sysmon("registry_rename", &[14]),
        sysmon("registry_event", &[12, 13, 14]),
        sysmon("create_stream_hash", &[15]),
        sysmon("pipe_created", &[17, 18]),
        sysmon("wmi_event", &[19, 20, 21]),
        sysmon("dns_query", &[22]),
        sysmon("file_delete", &[23]),
        sysmon("clipboard_capture", &[24]),
        sysmon("process_tampering", &[25]),
        sysmon("file_delete_detected", &[26]),
        sysmon("file_block_executable", &[27]),
        sysmon("file_block_shredding", &[28]),
        sysmon("file_executable_detected", &[29]),
        sysmon("sysmon_error", &[255]),
        ("ps_module", POWERSHELL.to_vec(), vec![4103]),
        ("ps_script", POWERSHELL.to_vec(), vec![4104]),
        ("ps_classic_start", vec!["Windows PowerShell"], vec![400]),
        (
            "ps_classic_provider_start",
            vec!["Windows PowerShell"],
            vec![600],
        ),
        ("ps_classic_script", vec!["Windows PowerShell"], vec![800]),
    ]
}

/// Every Windows service of the taxonomy appendix and SigmaHQ's thor.yml, with its channels.
fn service_table() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("application", vec!["Application"]),
        (
            "applocker",
            vec![
                "Microsoft-Windows-AppLocker/MSI and Script",
                "Microsoft-Windows-AppLocker/EXE and DLL",
                "Microsoft-Windows-AppLocker/Packaged app-Deployment",
                "Microsoft-Windows-AppLocker/Packaged app-Execution",
            ],
        ),
        (
            "appmodel-runtime",
            vec!["Microsoft-Windows-AppModel-Runtime/Admin"],
        ),
        (
            "application-experience",
            vec![
                "Microsoft-Windows-Application-Experience/Program-Telemetry",
                "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
            ],
        ),
        (
            "appxdeployment-server",
            vec!["Microsoft-Windows-AppXDeploymentServer/Operational"],
        ),
        (
            "appxpackaging-om",
            vec!["Microsoft-Windows-AppxPackaging/Operational"],
        ),
        (
            "bitlocker",
            vec!["Microsoft-Windows-BitLocker/BitLocker Management"],
        ),
        (
            "bits-client",
            vec!["Microsoft-Windows-Bits-Client/Operational"],
        ),
        ("capi2", vec!["Microsoft-Windows-CAPI2/Operational"]),
        (
            "certificateservicesclient-lifecycle-system",
            vec!["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"],
        ),
        (
            "codeintegrity-operational",
            vec!["Microsoft-Windows-CodeIntegrity/Operational"],
        ),
        ("dhcp", vec!["Microsoft-Windows-DHCP-Server/Operational"]),
        (
            "diagnosis-scripted",
            vec!["Microsoft-Windows-Diagnosis-Scripted/Operational"],
        ),
        (
            "dns-client",
            vec!["Microsoft-Windows-DNS Client Events/Operational"],
        ),
        ("dns-server", vec!["DNS Server"]),
        (
            "dns-server-analytic",
            vec!["Microsoft-Windows-DNS-Server/Analytical"],
        ),
        (
            "dns-server-audit",
            vec!["Microsoft-Windows-DNS-Server/Audit"],
        ),
        (
            "driver-framework",
            vec!["Microsoft-Windows-DriverFrameworks-UserMode/Operational"],
        ),
        (
            "firewall-as",
            vec!["Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"],
        ),
        ("hyper-v-worker", vec!["Microsoft-Windows-Hyper-V-Worker"]),
        (
            "iis-configuration",
            vec!["Microsoft-IIS-Configuration/Operational"],
        ),
        (
            "kernel-event-tracing",
            vec!["Microsoft-Windows-Kernel-EventTracing"],
        ),
        (
            "kernel-shimengine",
            vec![
                "Microsoft-Windows-Kernel-ShimEngine/Operational",
                "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
            ],
        ),
        ("ldap", vec!["Microsoft-Windows-LDAP-Client/Debug"]),
        ("lsa-server", vec!["Microsoft-Windows-LSA/Operational"]),
        ("msexchange-management", vec!["MSExchange Management"]),
        ("ntfs", vec!["Microsoft-Windows-Ntfs/Operational"]),
        ("ntlm", vec!["Microsoft-Windows-NTLM/Operational"]),
        ("openssh", vec!["OpenSSH/Operational"]),
        ("powershell", POWERSHELL.to_vec()),
        ("powershell-classic", vec!["Windows PowerShell"]),
        (
            "printservice-admin",
            vec!["Microsoft-Windows-PrintService/Admin"],
        ),
        (
            "printservice-operational",
            vec!["Microsoft-Windows-PrintService/Operational"],
        ),
        ("security", vec!["Security"]),
        (
            "security-mitigations",
            vec![
                "Microsoft-Windows-Security-Mitigations/Kernel Mode",
                "Microsoft-Windows-Security-Mitigations/User Mode",
            ],
        ),
        ("sense", vec!["Microsoft-Windows-SENSE/Operational"]),
        (
            "servicebus-client",
            vec![
                "Microsoft-ServiceBus-Client/Admin",
                "Microsoft-ServiceBus-Client/Operational",
            ],
        ),
        (
            "microsoft-servicebus-client",
            vec![
                "Microsoft-ServiceBus-Client/Admin",
                "Microsoft-ServiceBus-Client/Operational",
            ],
        ),
        (
            "shell-core",
            vec!["Microsoft-Windows-Shell-Core/Operational"],
        ),
        (
            "smbclient-connectivity",
            vec!["Microsoft-Windows-SmbClient/Connectivity"],
        ),
        (
            "smbclient-security",
            vec!["Microsoft-Windows-SmbClient/Security"],
        ),
        (
            "smbserver-connectivity",
            vec!["Microsoft-Windows-SMBServer/Connectivity"],
        ),
        ("sysmon", vec![SYSMON]),
        ("system", vec!["System"]),
        (
            "taskscheduler",
            vec!["Microsoft-Windows-TaskScheduler/Operational"],
        ),
        (
            "terminalservices-localsessionmanager",
            vec!["Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"],
        ),
        ("vhdmp", vec!["Microsoft-Windows-VHDMP/Operational"]),
        (
            "windefend",
            vec!["Microsoft-Windows-Windows Defender/Operational"],
        ),
        ("wmi", vec!["Microsoft-Windows-WMI-Activity/Operational"]),
    ]
}

/// The (channel field, EventID field) each built-in pipeline's conditions use.
fn condition_fields(pipeline: &str) -> (&'static str, &'static str) {
    match pipeline {
        "ecs" => ("winlog.channel", "winlog.event_id"),
        _ => ("Channel", "EventID"),
    }
}

/// The single condition set of the first variant, as (channels, event ids).
fn first_variant_selection(
    pipeline: &Pipeline,
    logsource: &LogSource<'_>,
) -> (Vec<String>, Vec<i64>) {
    let Resolution::Mapped(variants) = pipeline.resolve(logsource) else {
        panic!("{}: {logsource} does not resolve", pipeline.name());
    };
    let sets = variants[0].conditions();
    assert_eq!(sets.len(), 1, "{logsource}: one condition set");
    let (channel_field, id_field) = condition_fields(pipeline.name());
    let mut channels = Vec::new();
    let mut ids = Vec::new();
    for condition in sets[0].entries() {
        for value in condition.values() {
            match (condition.field(), value) {
                (field, ConditionValue::Text(text)) if field == channel_field => {
                    channels.push(text.clone());
                }
                (field, ConditionValue::Integer(id)) if field == id_field => ids.push(*id),
                (field, value) => panic!("{logsource}: unexpected condition {field}: {value:?}"),
            }
        }
    }
    (channels, ids)
}

#[test]
fn every_taxonomy_category_selects_its_event_ids() {
    for name in Pipeline::builtin_names() {
        let pipeline = Pipeline::builtin(name).expect("built-in");
        for (category, channels, ids) in category_table() {
            let logsource = LogSource {
                category: Some(category),
                product: Some("windows"),
                service: None,
            };
            let (found_channels, found_ids) = first_variant_selection(pipeline, &logsource);
            assert_eq!(found_channels, channels, "{name}: {category} channels");
            assert_eq!(found_ids, ids, "{name}: {category} EventIDs");
        }
    }
}

#[test]
fn every_taxonomy_service_selects_its_channels() {
    for name in Pipeline::builtin_names() {
        let pipeline = Pipeline::builtin(name).expect("built-in");
        for (service, channels) in service_table() {
            let logsource = LogSource {
                category: None,
                product: Some("windows"),
                service: Some(service),
            };
            let (found_channels, found_ids) = first_variant_selection(pipeline, &logsource);
            assert_eq!(found_channels, channels, "{name}: {service} channels");
            assert!(
                found_ids.is_empty(),
                "{name}: {service} selects the whole channel"
            );
        }
    }
}

#[test]
fn ecs_has_the_same_sources_as_windows() {
    let windows = Pipeline::builtin("windows").expect("built-in");
    let ecs = Pipeline::builtin("ecs").expect("built-in");
    let shape = |pipeline: &Pipeline| -> Vec<(String, String)> {
        pipeline
            .sources()
            .map(|s| (s.name().to_owned(), s.logsource().to_string()))
            .collect()
    };
    assert_eq!(shape(ecs), shape(windows));
}

#[test]
fn builtin_lookup() {
    assert_eq!(Pipeline::builtin_names(), ["windows", "ecs"]);
    assert_eq!(Pipeline::builtin("ECS").map(Pipeline::name), Ok("ecs"));
    assert_eq!(
        Pipeline::builtin("splunk"),
        Err(PipelineError::UnknownBuiltin {
            name: "splunk".to_owned(),
            known: "windows, ecs".to_owned(),
        })
    );
    let text = Pipeline::builtin_text("windows").expect("embedded text");
    assert!(text.contains("\nname: windows\n"));
    assert_eq!(Pipeline::builtin_text("splunk"), None);
}
