//! Each JSON layout flattened to an exact field list and header, the framing of JSON text
//! (lines, arrays, pretty-printed and `evtx_dump` output) and the problems of bad text.

mod common;

use std::ops::ControlFlow;

use common::{describe, read};
use sigrun_logs::{Layout, LayoutChoice, Location, ReadScratch, ValueKind, read_json_bytes};

const AUTO: LayoutChoice = LayoutChoice::Auto;

/// A Sysmon record as the `evtx` crate renders it.
const SYSMON: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"}},"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2019-04-27T15:57:25.8688632Z"}},"EventRecordID":6575,"Correlation":null,"Execution":{"#attributes":{"ProcessID":1912,"ThreadID":996}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"IEWIN7","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"RuleName":"","UtcTime":"2019-04-27 15:57:25.868","ProcessId":2604,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c \"whoami\"","IsExecutable":true,"Empty":null}}}"##;

#[test]
fn nested_evtx_record() {
    let (events, problems) = read(SYSMON.as_bytes(), AUTO);
    assert!(problems.is_empty(), "{:?}", describe(&problems));
    let [event] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(event.layout, Layout::WindowsNested);
    assert_eq!(
        event.pairs(),
        [
            "Provider_Name=Microsoft-Windows-Sysmon",
            "Provider_Guid={5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
            "EventID=1",
            "Version=5",
            "Level=4",
            "Task=1",
            "Opcode=0",
            "Keywords=0x8000000000000000",
            "TimeCreated_SystemTime=2019-04-27T15:57:25.8688632Z",
            "EventRecordID=6575",
            "Execution_ProcessID=1912",
            "Execution_ThreadID=996",
            "Channel=Microsoft-Windows-Sysmon/Operational",
            "Computer=IEWIN7",
            "Security_UserID=S-1-5-18",
            "RuleName=",
            "UtcTime=2019-04-27 15:57:25.868",
            "ProcessId=2604",
            r"Image=C:\Windows\System32\cmd.exe",
            r##"CommandLine=cmd.exe /c "whoami""##,
            "IsExecutable=true",
            "Empty=",
        ]
    );
    let kinds: Vec<_> = event.fields.iter().map(|f| f.1).collect();
    assert_eq!(kinds[2], ValueKind::Number);
    assert_eq!(kinds[7], ValueKind::String);
    assert_eq!(kinds[15], ValueKind::String);
    assert_eq!(kinds[20], ValueKind::Bool);
    assert_eq!(kinds[21], ValueKind::Null);
    assert_eq!(event.event_id, Some(1));
    assert_eq!(event.record_id, Some(6575));
    assert_eq!(
        event.channel.as_deref(),
        Some("Microsoft-Windows-Sysmon/Operational")
    );
    assert_eq!(event.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(event.computer.as_deref(), Some("IEWIN7"));
    assert_eq!(
        event.timestamp.as_deref(),
        Some("2019-04-27T15:57:25.8688632Z")
    );
    assert_eq!(event.raw, SYSMON);
    assert_eq!(
        event.location,
        Location::Text {
            line: Some(1),
            byte_offset: 0
        }
    );
}

#[test]
fn nested_event_id_text_unnamed_data_and_eventdata_attributes() {
    let text = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"MSSQLSERVER"}},"EventID":{"#attributes":{"Qualifiers":49152},"#text":18456},"Channel":"Application","Computer":"SQL1","Security":null},"EventData":{"#attributes":{"Name":"EVENT_X"},"Data":{"#text":["sa"," Reason: x"]},"Binary":"1848"}}}"##;
    let (events, problems) = read(text.as_bytes(), AUTO);
    assert!(problems.is_empty());
    assert_eq!(
        events[0].pairs(),
        [
            "Provider_Name=MSSQLSERVER",
            "EventID_Qualifiers=49152",
            "EventID=18456",
            "Channel=Application",
            "Computer=SQL1",
            "EventData_Name=EVENT_X",
            "Data=sa",
            "Data= Reason: x",
            "Binary=1848",
        ]
    );
    assert_eq!(events[0].event_id, Some(18456));
}

#[test]
fn nested_named_data_array() {
    // Data elements as XML-to-JSON converters write them; a Name may follow its text.
    let text = r##"{"Event":{"System":{"EventID":"4688","Channel":"Security"},"EventData":{"Data":[{"#attributes":{"Name":"SubjectUserSid"},"#text":"S-1-5-18"},{"#text":"C:\\x.exe","#attributes":{"Name":"NewProcessName"}},{"#attributes":{"Name":"TokenElevationType"}},"loose",{"#text":["m1","m2"],"#attributes":{"Name":"Multi"}}]}}}"##;
    let (events, problems) = read(text.as_bytes(), AUTO);
    assert!(problems.is_empty());
    let event = &events[0];
    assert_eq!(
        event.pairs(),
        [
            "EventID=4688",
            "Channel=Security",
            "SubjectUserSid=S-1-5-18",
            r"NewProcessName=C:\x.exe",
            "TokenElevationType=",
            "Data=loose",
            "Multi=m1",
            "Multi=m2",
        ]
    );
    assert_eq!(event.fields[4].1, ValueKind::Null);
    // A string EventID is parsed too.
    assert_eq!(event.event_id, Some(4688));
}

#[test]
fn nested_user_data_by_leaf_name() {
    let text = r##"{"Event":{"System":{"EventID":5861,"Channel":"Microsoft-Windows-WMI-Activity/Operational","Provider":{"#attributes":{"Name":"Microsoft-Windows-WMI-Activity"}}},"UserData":{"Operation_ESStoConsumerBinding":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2006/windows/WMI","xmlns:auto-ns2":"x"},"Namespace":"//./root/subscription","ESS":"Evil","CONSUMER":"CommandLineEventConsumer=\"Evil\"","PossibleCause":"Binding","Nested":{"#attributes":{"Kind":"k"},"#text":"t"},"List":{"Item":["a","b"]},"Nothing":null}}}}"##;
    let (events, problems) = read(text.as_bytes(), AUTO);
    assert!(problems.is_empty());
    assert_eq!(
        events[0].pairs(),
        [
            "EventID=5861",
            "Channel=Microsoft-Windows-WMI-Activity/Operational",
            "Provider_Name=Microsoft-Windows-WMI-Activity",
            "Namespace=//./root/subscription",
            "ESS=Evil",
            r##"CONSUMER=CommandLineEventConsumer="Evil""##,
            "PossibleCause=Binding",
            "Nested_Kind=k",
            "Nested=t",
            "Item=a",
            "Item=b",
            "Nothing=",
        ]
    );
    assert_eq!(
        events[0].provider.as_deref(),
        Some("Microsoft-Windows-WMI-Activity")
    );
}

#[test]
fn nested_header_comes_from_system_only() {
    // RenderingInfo and EventData carry names of System fields; only System's count.
    let text = r##"{"Event":{"System":{"Channel":"Security","EventID":1},"EventData":{"Channel":"Other","Computer":"Fake"},"RenderingInfo":{"Channel":"Sicherheit","Level":"Information"}}}"##;
    let (events, _) = read(text.as_bytes(), AUTO);
    let event = &events[0];
    assert_eq!(event.channel.as_deref(), Some("Security"));
    assert_eq!(event.computer, None);
    assert_eq!(
        event.pairs(),
        [
            "Channel=Security",
            "EventID=1",
            "Channel=Other",
            "Computer=Fake",
            "Channel=Sicherheit",
            "Level=Information",
        ]
    );
}

const NXLOG: &str = r##"{"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WORKSTATION5","TimeCreated":"2020-12-19T06:59:28.410Z","@timestamp":"2020-12-19T06:59:28.411Z","EventID":1,"RecordNumber":"42","Image":"C:\\Windows\\System32\\cmd.exe","tags":["mordorDataset","x"],"nested":{"a":{"b":1}},"dotted.key":"v","Event":"not an object"}"##;

#[test]
fn flat_nxlog_event() {
    let (events, problems) = read(NXLOG.as_bytes(), AUTO);
    assert!(problems.is_empty());
    let event = &events[0];
    assert_eq!(event.layout, Layout::WindowsFlat);
    assert_eq!(
        event.pairs(),
        [
            "SourceName=Microsoft-Windows-Sysmon",
            "Channel=Microsoft-Windows-Sysmon/Operational",
            "Hostname=WORKSTATION5",
            "TimeCreated=2020-12-19T06:59:28.410Z",
            "@timestamp=2020-12-19T06:59:28.411Z",
            "EventID=1",
            "RecordNumber=42",
            r"Image=C:\Windows\System32\cmd.exe",
            "tags=mordorDataset",
            "tags=x",
            "nested.a.b=1",
            "dotted.key=v",
            "Event=not an object",
            // Copies of the envelope under the EVTX names, last.
            "Provider_Name=Microsoft-Windows-Sysmon",
            "Computer=WORKSTATION5",
        ]
    );
    assert_eq!(event.event_id, Some(1));
    assert_eq!(event.record_id, Some(42));
    assert_eq!(event.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(event.computer.as_deref(), Some("WORKSTATION5"));
    assert_eq!(event.timestamp.as_deref(), Some("2020-12-19T06:59:28.410Z"));
}

#[test]
fn flat_event_keeps_its_own_provider_and_computer() {
    let text =
        r##"{"Computer":"A","Hostname":"B","ProviderName":"P","EventTime":"t1","EventID":"0x10"}"##;
    let (events, _) = read(text.as_bytes(), AUTO);
    let event = &events[0];
    assert_eq!(
        event.pairs(),
        [
            "Computer=A",
            "Hostname=B",
            "ProviderName=P",
            "EventTime=t1",
            "EventID=0x10",
            "Provider_Name=P"
        ]
    );
    assert_eq!(event.computer.as_deref(), Some("A"));
    assert_eq!(event.timestamp.as_deref(), Some("t1"));
    // Not a decimal number: no EventID in the header.
    assert_eq!(event.event_id, None);
}

const ECS: &str = r##"{"@timestamp":"2023-01-01T00:00:00.000Z","event":{"code":"4688","kind":"event"},"host":{"name":"ws1.example"},"process":{"command_line":"cmd /c x","pid":42},"winlog":{"channel":"Security","event_id":4688,"provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"WS1","record_id":77,"event_data":{"NewProcessName":"C:\\cmd.exe","List":[1,[2,{"deep":3}]]}},"message":"x"}"##;

#[test]
fn ecs_event() {
    let (events, problems) = read(ECS.as_bytes(), AUTO);
    assert!(problems.is_empty());
    let event = &events[0];
    assert_eq!(event.layout, Layout::Ecs);
    assert_eq!(
        event.pairs(),
        [
            "@timestamp=2023-01-01T00:00:00.000Z",
            "event.code=4688",
            "event.kind=event",
            "host.name=ws1.example",
            "process.command_line=cmd /c x",
            "process.pid=42",
            "winlog.channel=Security",
            "winlog.event_id=4688",
            "winlog.provider_name=Microsoft-Windows-Security-Auditing",
            "winlog.computer_name=WS1",
            "winlog.record_id=77",
            r"winlog.event_data.NewProcessName=C:\cmd.exe",
            "winlog.event_data.List=1",
            "winlog.event_data.List=2",
            "winlog.event_data.List.deep=3",
            "message=x",
        ]
    );
    assert_eq!(event.event_id, Some(4688));
    assert_eq!(event.record_id, Some(77));
    assert_eq!(event.channel.as_deref(), Some("Security"));
    assert_eq!(
        event.provider.as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(event.computer.as_deref(), Some("WS1"));
    assert_eq!(event.timestamp.as_deref(), Some("2023-01-01T00:00:00.000Z"));
}

#[test]
fn ecs_with_dotted_keys_and_event_code() {
    let text = r##"{"host.name":"h","event.code":"4104","winlog.channel":"Microsoft-Windows-PowerShell/Operational"}"##;
    let (events, _) = read(text.as_bytes(), AUTO);
    let event = &events[0];
    assert_eq!(event.layout, Layout::Ecs);
    assert_eq!(event.event_id, Some(4104));
    assert_eq!(event.computer.as_deref(), Some("h"));
    assert_eq!(event.fields.len(), 3);
}

#[test]
fn layout_is_decided_per_event_or_forced() {
    let text = format!("{SYSMON}\n{NXLOG}\n{ECS}\n");
    let (events, _) = read(text.as_bytes(), AUTO);
    let layouts: Vec<_> = events.iter().map(|e| e.layout).collect();
    assert_eq!(
        layouts,
        [Layout::WindowsNested, Layout::WindowsFlat, Layout::Ecs]
    );

    // Forced to ECS, the nested record is flattened with dotted names and no header.
    let (events, _) = read(SYSMON.as_bytes(), LayoutChoice::Fixed(Layout::Ecs));
    let event = &events[0];
    assert_eq!(event.layout, Layout::Ecs);
    assert_eq!(event.event_id, None);
    assert_eq!(event.fields[0].0, "Event.#attributes.xmlns");
    assert_eq!(event.fields[1].0, "Event.System.Provider.#attributes.Name");

    // Forced to flat, an ECS event gets the flat header rules (none match) and no aliases.
    let (events, _) = read(ECS.as_bytes(), LayoutChoice::Fixed(Layout::WindowsFlat));
    assert_eq!(events[0].layout, Layout::WindowsFlat);
    assert_eq!(events[0].event_id, None);
    assert_eq!(
        events[0].timestamp.as_deref(),
        Some("2023-01-01T00:00:00.000Z")
    );
    assert_eq!(events[0].fields.len(), 16);
}

#[test]
fn event_accessors() {
    let text = r##"{"a":[1,"x",null],"b":"","c":true}"##;
    let mut scratch = ReadScratch::new();
    let mut seen = 0;
    read_json_bytes(
        text.as_bytes(),
        AUTO,
        &mut scratch,
        |event| {
            seen += 1;
            let values: Vec<_> = event.get("a").map(|v| (v.kind(), v.text())).collect();
            assert_eq!(
                values,
                [
                    (ValueKind::Number, "1"),
                    (ValueKind::String, "x"),
                    (ValueKind::Null, "")
                ]
            );
            assert!(event.get("a").nth(2).is_some_and(|v| v.is_null()));
            assert_eq!(event.first("b").map(|v| v.text()), Some(""));
            assert!(event.has("c") && !event.has("C") && !event.has("d"));
            assert_eq!(event.field_count(), 5);
            assert_eq!(event.fields().len(), 5);
            ControlFlow::Continue(())
        },
        |problem| panic!("{problem}"),
    );
    assert_eq!(seen, 1);
}

#[test]
fn json_array_of_events() {
    let (events, problems) = read(b"[\n {\"a\":1},\n {\"a\":2}\n]\n", AUTO);
    assert!(problems.is_empty());
    let lines: Vec<_> = events.iter().map(|e| e.location).collect();
    assert_eq!(
        lines,
        [
            Location::Text {
                line: Some(2),
                byte_offset: 3
            },
            Location::Text {
                line: Some(3),
                byte_offset: 13
            },
        ]
    );
    assert_eq!(events[1].raw, r##"{"a":2}"##);
}

#[test]
fn evtx_dump_output_with_record_lines() {
    let text = "Record 1\n{\n  \"Event\": {\n    \"System\": {\"EventID\": 1}\n  }\n}\nRecord 2\n{\n  \"Event\": {\n    \"System\": {\"EventID\": 2}\n  }\n}\n";
    let (events, problems) = read(text.as_bytes(), AUTO);
    assert!(problems.is_empty(), "{:?}", describe(&problems));
    let found: Vec<_> = events.iter().map(|e| (e.event_id, e.location)).collect();
    assert_eq!(
        found,
        [
            (
                Some(1),
                Location::Text {
                    line: Some(2),
                    byte_offset: 9
                }
            ),
            (
                Some(2),
                Location::Text {
                    line: Some(8),
                    byte_offset: 68
                }
            ),
        ]
    );
}

#[test]
fn bom_crlf_blank_lines_and_several_objects_on_a_line() {
    let (events, problems) = read(
        b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"a\":2}{\"a\":3} {\"a\":4}\r\n",
        AUTO,
    );
    assert!(problems.is_empty());
    let found: Vec<_> = events.iter().map(|e| (e.pairs(), e.location)).collect();
    let at = |line, byte_offset| Location::Text {
        line: Some(line),
        byte_offset,
    };
    assert_eq!(
        found,
        [
            (vec!["a=1".to_string()], at(1, 3)),
            (vec!["a=2".to_string()], at(3, 14)),
            (vec!["a=3".to_string()], at(3, 21)),
            (vec!["a=4".to_string()], at(3, 29)),
        ]
    );
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let text = "{\"a\":1}\n{\"a\":\n{\"a\":3}\nnot json\n{\"a\":5}\n{\"a\":\"x\u{1}\"}\n{\"a\":7}";
    let (events, problems) = read(text.as_bytes(), AUTO);
    let values: Vec<_> = events.iter().map(|e| e.pairs()).collect();
    assert_eq!(values, [["a=1"], ["a=3"], ["a=5"], ["a=7"]]);
    assert_eq!(
        describe(&problems),
        [
            "line 2 (byte 8): a new event starts before this one ends (truncated line)",
            "line 4 (byte 22): unexpected text between events (expected a JSON object)",
            "line 6 (byte 46): invalid JSON: control character in a string",
        ]
    );
}

#[test]
fn invalid_utf8_skips_only_its_event() {
    let (events, problems) = read(b"{\"a\":\"x\xff\"}\n{\"a\":2}\n", AUTO);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].pairs(), ["a=2"]);
    assert_eq!(
        describe(&problems),
        ["line 1 (byte 7): invalid UTF-8 in a JSON string"]
    );
}

#[test]
fn utf16_text_is_one_problem() {
    let text: Vec<u8> = "\u{feff}{\"a\":1}\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let (events, problems) = read(&text, AUTO);
    assert!(events.is_empty());
    assert_eq!(
        describe(&problems),
        [
            "line 1 (byte 0): the text is UTF-16 encoded; only UTF-8 JSON is supported (convert it first)"
        ]
    );
}

#[test]
fn truncated_last_event() {
    let (events, problems) = read(b"{\"a\":1}\n{\"a\":\"x", AUTO);
    assert_eq!(events.len(), 1);
    assert_eq!(
        describe(&problems),
        ["line 2 (byte 15): the text ends inside a JSON event"]
    );
}

#[test]
fn too_deep_nesting_is_a_problem() {
    let deep = format!(
        "{{\"a\":{}1{}}}\n{{\"b\":2}}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    let (events, problems) = read(deep.as_bytes(), AUTO);
    assert_eq!(events.len(), 1);
    assert_eq!(
        describe(&problems),
        ["line 1 (byte 132): JSON nested deeper than 128 levels"]
    );
}

#[test]
fn error_inside_a_json_array_resumes_at_the_next_event_line() {
    let text = "[\n{\"a\":1},\n{\"a\" 2},\n{\"a\":3}\n]\n";
    let (events, problems) = read(text.as_bytes(), AUTO);
    let values: Vec<_> = events.iter().map(|e| e.pairs()).collect();
    assert_eq!(values, [["a=1"], ["a=3"]]);
    assert_eq!(
        describe(&problems),
        ["line 3 (byte 16): invalid JSON: expected ':' after a key"]
    );
}

#[test]
fn duplicate_and_escaped_keys_are_kept() {
    let (events, _) = read(br##"{"a\"b":1,"a\"b":2,"\u00e9":"\ud83d\ude00"}"##, AUTO);
    assert_eq!(events[0].pairs(), ["a\"b=1", "a\"b=2", "é=😀"]);
}

#[test]
fn stopping_early() {
    let mut scratch = ReadScratch::new();
    let mut seen = 0;
    let stats = read_json_bytes(
        b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
        AUTO,
        &mut scratch,
        |_| {
            seen += 1;
            ControlFlow::Break(())
        },
        |_| {},
    );
    assert_eq!(seen, 1);
    assert_eq!((stats.events, stats.problems, stats.stopped), (1, 0, true));
}

#[test]
fn unclosed_array_is_reported() {
    let (events, problems) = read(b"[{\"a\":1},\n", AUTO);
    assert_eq!(events.len(), 1);
    assert_eq!(
        describe(&problems),
        ["line 2 (byte 10): the text ends inside a JSON event"]
    );
}

#[test]
fn non_object_values_are_unexpected_text() {
    let (events, problems) = read(b"42\n\"s\"\n{\"a\":1}\n", AUTO);
    assert_eq!(events.len(), 1);
    // One problem for the whole stretch: reading resumes at the next line starting with `{`.
    assert_eq!(
        describe(&problems),
        ["line 1 (byte 0): unexpected text between events (expected a JSON object)"]
    );
}
