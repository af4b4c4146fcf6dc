//! Sigma v2.1.0 matching semantics, one test per rule of the spec, with exact expectations.
//! Every case also runs the `explain` slow path and requires it to agree.

mod common;

use common::*;
use sigrun_engine::{
    CompileOptions, Engine, EventView, FieldValue, MemoryEvent, PlaceholderPolicy, ProblemKind,
    Scratch, ValueKind,
};
use sigrun_pipeline::Pipeline;

fn cmd(value: &str) -> MemoryEvent {
    sysmon1(&[("CommandLine", value)])
}

#[test]
fn strings_ignore_case_unless_cased() {
    let rule = process_rule("    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel\n");
    assert!(hit(
        &rule,
        &sysmon1(&[("Image", "C:\\WINDOWS\\System32\\CMD.EXE")])
    ));
    assert!(!hit(&rule, &sysmon1(&[("Image", "C:\\cmd.exe.bak")])));
    let cased =
        process_rule("    sel:\n        CommandLine|contains|cased: 'Mimi'\n    condition: sel\n");
    assert!(hit(&cased, &cmd("run Mimikatz")));
    assert!(!hit(&cased, &cmd("run mimikatz")));
    assert!(!hit(&cased, &cmd("run MIMIKATZ")));
    let cased_exact =
        process_rule("    sel:\n        CommandLine|cased: 'AbC'\n    condition: sel\n");
    assert!(hit(&cased_exact, &cmd("AbC")));
    assert!(!hit(&cased_exact, &cmd("abc")));
    // Non-ASCII text folds too.
    let umlaut =
        process_rule("    sel:\n        CommandLine|contains: 'ÄRGER'\n    condition: sel\n");
    assert!(hit(&umlaut, &cmd("viel ärger hier")));
}

#[test]
fn plain_values_are_whole_value_equality() {
    let rule = process_rule("    sel:\n        CommandLine: 'whoami'\n    condition: sel\n");
    assert!(hit(&rule, &cmd("WHOAMI")));
    assert!(!hit(&rule, &cmd("whoami /all")));
    assert!(!hit(&rule, &cmd("")));
    let empty = process_rule("    sel:\n        CommandLine: ''\n    condition: sel\n");
    assert!(hit(&empty, &cmd("")));
    assert!(!hit(&empty, &cmd(" ")));
}

#[test]
fn wildcards_and_escapes() {
    let q = process_rule("    sel:\n        CommandLine: 'a?c*'\n    condition: sel\n");
    assert!(hit(&q, &cmd("abc")));
    assert!(hit(&q, &cmd("aXcdef")));
    assert!(!hit(&q, &cmd("ac")));
    assert!(!hit(&q, &cmd("xabc")));
    // `\\*` is a backslash and a wildcard; `\*` would be a literal star.
    let inner =
        process_rule("    sel:\n        CommandLine: '*\\temp\\\\*.ps1'\n    condition: sel\n");
    assert!(hit(&inner, &cmd("powershell C:\\Temp\\x\\run.PS1")));
    assert!(!hit(&inner, &cmd("powershell C:\\Temp\\x\\run.ps1.txt")));
    let escaped =
        process_rule("    sel:\n        CommandLine: '*\\temp\\*.ps1'\n    condition: sel\n");
    assert!(hit(&escaped, &cmd("c:\\temp*.ps1")));
    assert!(!hit(&escaped, &cmd("c:\\temp\\x.ps1")));
    // \* is a literal star.
    let star = process_rule("    sel:\n        CommandLine: 'a\\*b'\n    condition: sel\n");
    assert!(hit(&star, &cmd("a*b")));
    assert!(!hit(&star, &cmd("axb")));
    // A backslash before other characters is literal; \\* is a backslash and a wildcard.
    let dir = process_rule("    sel:\n        Image: 'C:\\Windows\\\\*'\n    condition: sel\n");
    assert!(hit(&dir, &sysmon1(&[("Image", "c:\\windows\\x.exe")])));
    assert!(!hit(&dir, &sysmon1(&[("Image", "c:\\windowsx.exe")])));
    // A trailing backslash followed by the wildcard endswith/contains add stays literal.
    let trailing =
        process_rule("    sel:\n        CommandLine|contains: 'C:\\Users\\'\n    condition: sel\n");
    assert!(hit(&trailing, &cmd("dir C:\\Users\\x")));
    assert!(!hit(&trailing, &cmd("dir C:\\Users")));
    let any = process_rule("    sel:\n        CommandLine: '*'\n    condition: sel\n");
    assert!(hit(&any, &cmd("")));
    assert!(hit(&any, &cmd("x")));
    assert!(!hit(&any, &sysmon1(&[("Other", "x")])));
}

#[test]
fn contains_startswith_endswith_anchor_as_named() {
    let starts =
        process_rule("    sel:\n        CommandLine|startswith: 'net '\n    condition: sel\n");
    assert!(hit(&starts, &cmd("NET user")));
    assert!(!hit(&starts, &cmd("x net user")));
    let ends = process_rule("    sel:\n        CommandLine|endswith: '.vbs'\n    condition: sel\n");
    assert!(hit(&ends, &cmd("wscript a.VBS")));
    assert!(!hit(&ends, &cmd("wscript a.vbs x")));
    // Overlapping occurrences: the suffix occurs twice, the last one ends the value.
    let both = process_rule("    sel:\n        CommandLine|endswith: 'aa'\n    condition: sel\n");
    assert!(hit(&both, &cmd("aaa")));
    assert!(!hit(&both, &cmd("aab")));
}

#[test]
fn regex_is_unanchored_case_sensitive_with_flags() {
    let re = process_rule("    sel:\n        CommandLine|re: 'e[0-9]x'\n    condition: sel\n");
    assert!(hit(&re, &cmd("before e5x after")));
    assert!(!hit(&re, &cmd("before E5X after")));
    let anchored = process_rule("    sel:\n        CommandLine|re: '^ab$'\n    condition: sel\n");
    assert!(hit(&anchored, &cmd("ab")));
    assert!(!hit(&anchored, &cmd("xab")));
    let i = process_rule("    sel:\n        CommandLine|re|i: 'e[0-9]x'\n    condition: sel\n");
    assert!(hit(&i, &cmd("E5X")));
    let m = process_rule("    sel:\n        CommandLine|re|m: '^second$'\n    condition: sel\n");
    assert!(hit(&m, &cmd("first\nsecond\nthird")));
    let no_m = process_rule("    sel:\n        CommandLine|re: '^second$'\n    condition: sel\n");
    assert!(!hit(&no_m, &cmd("first\nsecond\nthird")));
    let s = process_rule("    sel:\n        CommandLine|re|s: 'a.b'\n    condition: sel\n");
    assert!(hit(&s, &cmd("a\nb")));
    let no_s = process_rule("    sel:\n        CommandLine|re: 'a.b'\n    condition: sel\n");
    assert!(!hit(&no_s, &cmd("a\nb")));
}

#[test]
fn numbers_compare_numerically_or_as_text() {
    let rule = rule_with(
        "{product: windows, service: security}",
        "    sel:\n        EventID: 4688\n        LogonType: 3\n    condition: sel\n",
    );
    let event = |eid: &str, logon: &str, kind: ValueKind| {
        let mut e = MemoryEvent::new().with("Channel", "Security");
        e.push("EventID", kind, eid);
        e.push("LogonType", ValueKind::String, logon);
        e
    };
    assert!(hit(&rule, &event("4688", "3", ValueKind::Number)));
    assert!(hit(&rule, &event("4688", "3", ValueKind::String)));
    assert!(hit(&rule, &event("4688", "03", ValueKind::String)));
    assert!(hit(&rule, &event("4688", "3.0", ValueKind::String)));
    assert!(!hit(&rule, &event("4688", "4", ValueKind::String)));
    assert!(!hit(&rule, &event("4689", "3", ValueKind::Number)));
    // A string rule value that looks like a number is still text.
    let text = rule_with(
        "{product: windows, service: security}",
        "    sel:\n        Status: '0xC0000064'\n    condition: sel\n",
    );
    let status = |s: &str| {
        MemoryEvent::new()
            .with("Channel", "Security")
            .with("Status", s)
    };
    assert!(hit(&text, &status("0xc0000064")));
    assert!(!hit(&text, &status("3221225572")));
}

#[test]
fn booleans() {
    let rule = process_rule("    sel:\n        Flag: true\n    condition: sel\n");
    let mut e = sysmon1(&[]);
    e.push("Flag", ValueKind::Bool, "true");
    assert!(hit(&rule, &e));
    assert!(hit(&rule, &sysmon1(&[("Flag", "True")])));
    assert!(!hit(&rule, &sysmon1(&[("Flag", "false")])));
    assert!(!hit(&rule, &sysmon1(&[])));
}

#[test]
fn null_matches_absent_json_null_or_empty() {
    let rule = process_rule("    sel:\n        ParentImage: null\n    condition: sel\n");
    assert!(hit(&rule, &sysmon1(&[])));
    assert!(hit(&rule, &sysmon1(&[]).with_null("ParentImage")));
    assert!(hit(&rule, &sysmon1(&[("ParentImage", "")])));
    assert!(!hit(&rule, &sysmon1(&[("ParentImage", "x")])));
    // "not null" is written as a negated selection.
    let not_null = process_rule(
        "    sel:\n        Image|endswith: '.exe'\n    filter:\n        ParentImage: null\n    condition: sel and not filter\n",
    );
    assert!(hit(
        &not_null,
        &sysmon1(&[("Image", "a.exe"), ("ParentImage", "p")])
    ));
    assert!(!hit(&not_null, &sysmon1(&[("Image", "a.exe")])));
    // A JSON null is no string: an empty-string test does not see it.
    let empty = process_rule("    sel:\n        ParentImage: ''\n    condition: sel\n");
    assert!(!hit(&empty, &sysmon1(&[]).with_null("ParentImage")));
}

#[test]
fn exists_true_and_false() {
    let yes = process_rule("    sel:\n        ParentImage|exists: true\n    condition: sel\n");
    let no = process_rule("    sel:\n        ParentImage|exists: false\n    condition: sel\n");
    assert!(hit(&yes, &sysmon1(&[("ParentImage", "")])));
    assert!(hit(&yes, &sysmon1(&[]).with_null("ParentImage")));
    assert!(!hit(&yes, &sysmon1(&[])));
    assert!(hit(&no, &sysmon1(&[])));
    assert!(!hit(&no, &sysmon1(&[("ParentImage", "x")])));
}

#[test]
fn neq_negates_the_item_and_absent_fields() {
    let rule = process_rule(
        "    sel:\n        Image|endswith: '.exe'\n        User|neq: 'SYSTEM'\n    condition: sel\n",
    );
    assert!(hit(&rule, &sysmon1(&[("Image", "a.exe"), ("User", "bob")])));
    assert!(!hit(
        &rule,
        &sysmon1(&[("Image", "a.exe"), ("User", "system")])
    ));
    // neq over an absent field is true (not (User = SYSTEM)).
    assert!(hit(&rule, &sysmon1(&[("Image", "a.exe")])));
    // neq with a list: none of the values.
    let list = process_rule("    sel:\n        User|neq: [a, b]\n    condition: sel\n");
    assert!(hit(&list, &sysmon1(&[("User", "c")])));
    assert!(!hit(&list, &sysmon1(&[("User", "b")])));
}

#[test]
fn not_over_an_absent_field_is_true() {
    let rule = process_rule(
        "    sel:\n        Image|endswith: '.exe'\n    filter:\n        CommandLine|contains: 'safe'\n    condition: sel and not filter\n",
    );
    assert!(hit(&rule, &sysmon1(&[("Image", "a.exe")])));
    assert!(hit(
        &rule,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "x")])
    ));
    assert!(!hit(
        &rule,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "is safe")])
    ));
}

#[test]
fn lists_are_or_maps_are_and_all_is_and() {
    let rule = process_rule(
        "    sel:\n        Image|endswith: ['\\a.exe', '\\b.exe']\n        CommandLine|contains|all: ['-x', '-y']\n    condition: sel\n",
    );
    assert!(hit(
        &rule,
        &sysmon1(&[("Image", "c:\\b.exe"), ("CommandLine", "-y -x")])
    ));
    assert!(!hit(
        &rule,
        &sysmon1(&[("Image", "c:\\b.exe"), ("CommandLine", "-y")])
    ));
    assert!(!hit(
        &rule,
        &sysmon1(&[("Image", "c:\\c.exe"), ("CommandLine", "-x -y")])
    ));
    // A list of maps: any map.
    let maps = process_rule(
        "    sel:\n        - Image|endswith: '\\a.exe'\n        - CommandLine: 'x'\n          User: 'u'\n    condition: sel\n",
    );
    assert!(hit(&maps, &sysmon1(&[("Image", "c:\\a.exe")])));
    assert!(hit(&maps, &sysmon1(&[("CommandLine", "X"), ("User", "U")])));
    assert!(!hit(&maps, &sysmon1(&[("CommandLine", "X")])));
}

#[test]
fn keywords_are_found_in_any_value() {
    let rule = rule_with(
        "{product: windows}",
        "    keywords:\n        - 'sekurlsa::'\n        - 'rm *bash_history'\n    condition: keywords\n",
    );
    let any = |name: &str, value: &str| MemoryEvent::new().with("Channel", "X").with(name, value);
    assert!(hit(
        &rule,
        &any("Payload", "mimikatz SEKURLSA::logonpasswords")
    ));
    assert!(hit(&rule, &any("Other", "x; rm -f ~/.bash_history")));
    assert!(!hit(&rule, &any("Payload", "sekurlsa")));
    let all = rule_with(
        "{product: windows}",
        "    keywords:\n        '|all':\n            - 'alpha'\n            - 'beta'\n    condition: keywords\n",
    );
    // The keywords of '|all' may sit in different fields.
    let two = MemoryEvent::new()
        .with("Channel", "X")
        .with("A", "xALPHAx")
        .with("B", "beta");
    assert!(hit(&all, &two));
    assert!(!hit(&all, &any("A", "alpha")));
}

#[test]
fn keyword_gates_keep_every_match() {
    // A keyword rule of the same events whose pattern has no literal for the scan still sees
    // every value when the gate proves that no scanned keyword is in the event.
    let set = rule_set(&[
        &rule_with(
            "{product: windows}",
            "    keywords:\n        - 'sekurlsa::'\n    condition: keywords\n",
        ),
        &rule_with(
            "{product: windows}",
            "    keywords:\n        - '??'\n    condition: keywords\n",
        ),
    ]);
    let (engine, problems) = compile(&set, windows());
    assert!(problems.is_empty(), "{problems:?}");
    let event = |value: &str| MemoryEvent::new().with("Channel", "X").with("A", value);
    assert_eq!(matching(&engine, &set, windows(), &event("ab")), [1]);
    assert_eq!(
        matching(&engine, &set, windows(), &event("SEKURLSA::")),
        [0, 1]
    );
    assert_eq!(
        matching(&engine, &set, windows(), &event("-")),
        [] as [usize; 0]
    );
    // The Kelvin sign lowers to an ASCII `k`: `se\u{212a}urlsa::` holds the keyword.
    assert_eq!(
        matching(&engine, &set, windows(), &event("SE\u{212a}URLSA::")),
        [0, 1]
    );
}

#[test]
fn comparisons() {
    let rule =
        process_rule("    sel:\n        Size|gte: 10\n        Size|lt: 20\n    condition: sel\n");
    for (size, expected) in [
        ("9", false),
        ("10", true),
        ("19.5", true),
        ("20", false),
        ("x", false),
    ] {
        assert_eq!(hit(&rule, &sysmon1(&[("Size", size)])), expected, "{size}");
    }
    let gt = process_rule("    sel:\n        Size|gt: 5\n    condition: sel\n");
    assert!(!hit(&gt, &sysmon1(&[("Size", "5")])));
    let lte = process_rule("    sel:\n        Size|lte: 5\n    condition: sel\n");
    assert!(hit(&lte, &sysmon1(&[("Size", "5")])));
    assert!(hit(&lte, &sysmon1(&[("Size", "-7")])));
}

#[test]
fn time_parts() {
    let rule = process_rule(
        "    sel:\n        UtcTime|hour: 3\n        UtcTime|month: 4\n    condition: sel\n",
    );
    assert!(hit(
        &rule,
        &sysmon1(&[("UtcTime", "2026-04-17 03:24:53.079")])
    ));
    assert!(!hit(
        &rule,
        &sysmon1(&[("UtcTime", "2026-04-17 04:24:53.079")])
    ));
    assert!(!hit(
        &rule,
        &sysmon1(&[("UtcTime", "2026-05-17 03:24:53.079")])
    ));
    let week = process_rule("    sel:\n        UtcTime|week: 16\n    condition: sel\n");
    assert!(hit(&week, &sysmon1(&[("UtcTime", "2026-04-17T05:24:53Z")])));
    let year = process_rule("    sel:\n        UtcTime|year: 2026\n    condition: sel\n");
    assert!(!hit(&year, &sysmon1(&[("UtcTime", "not a time")])));
}

#[test]
fn cidr_v4_and_v6() {
    let rule = rule_with(
        "{product: windows, category: network_connection}",
        "    sel:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - 'fe80::/10'\n    condition: sel\n",
    );
    let net = |ip: &str| {
        MemoryEvent::new()
            .with("Channel", "Microsoft-Windows-Sysmon/Operational")
            .with_number("EventID", 3)
            .with("DestinationIp", ip)
    };
    assert!(hit(&rule, &net("10.20.30.40")));
    assert!(hit(&rule, &net("FE80::1")));
    assert!(hit(&rule, &net("::ffff:10.0.0.1")));
    assert!(!hit(&rule, &net("11.0.0.1")));
    assert!(!hit(&rule, &net("2001:db8::1")));
    assert!(!hit(&rule, &net("localhost")));
}

#[test]
fn fieldref_equality_and_positions() {
    let eq = process_rule("    sel:\n        ParentImage|fieldref: Image\n    condition: sel\n");
    assert!(hit(
        &eq,
        &sysmon1(&[("Image", "C:\\a.exe"), ("ParentImage", "c:\\A.EXE")])
    ));
    assert!(!hit(
        &eq,
        &sysmon1(&[("Image", "C:\\a.exe"), ("ParentImage", "c:\\b.exe")])
    ));
    assert!(!hit(&eq, &sysmon1(&[("ParentImage", "c:\\b.exe")])));
    let ends = process_rule(
        "    sel:\n        CommandLine|fieldref|endswith: Image\n    condition: sel\n",
    );
    assert!(hit(
        &ends,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "run A.exe")])
    ));
    assert!(!hit(
        &ends,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "a.exe run")])
    ));
    let starts = process_rule(
        "    sel:\n        CommandLine|fieldref|startswith: Image\n    condition: sel\n",
    );
    assert!(hit(
        &starts,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "a.exe run")])
    ));
    let contains = process_rule(
        "    sel:\n        CommandLine|fieldref|contains: Image\n    condition: sel\n",
    );
    assert!(hit(
        &contains,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "x a.exe y")])
    ));
    assert!(!hit(
        &contains,
        &sysmon1(&[("Image", "a.exe"), ("CommandLine", "x b.exe y")])
    ));
    let neq =
        process_rule("    sel:\n        ParentImage|fieldref|neq: Image\n    condition: sel\n");
    assert!(hit(&neq, &sysmon1(&[("Image", "a"), ("ParentImage", "b")])));
    assert!(!hit(
        &neq,
        &sysmon1(&[("Image", "a"), ("ParentImage", "A")])
    ));
}

#[test]
fn windash_base64offset_and_utf16_values_match() {
    let windash = process_rule(
        "    sel:\n        CommandLine|contains|windash: ' -enc '\n    condition: sel\n",
    );
    for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        assert!(
            hit(&windash, &cmd(&format!("powershell {dash}enc abc"))),
            "{dash}"
        );
    }
    assert!(!hit(&windash, &cmd("powershell +enc abc")));
    let b64 = process_rule(
        "    sel:\n        CommandLine|base64offset|contains: 'IEX'\n    condition: sel\n",
    );
    // base64("IEX") = SUVY; with one and two leading bytes: "xIEX" → eElFWA, "xxIEX" → eHhJRVg.
    assert!(hit(&b64, &cmd("powershell -e SUVY")));
    assert!(hit(&b64, &cmd("powershell -e eElFWA==")));
    assert!(hit(&b64, &cmd("powershell -e eHhJRVg=")));
    assert!(!hit(&b64, &cmd("powershell -e aaaa")));
}

#[test]
fn quantifiers_and_them() {
    let rule = process_rule(
        "    sel_a:\n        Image|endswith: '\\a.exe'\n    sel_b:\n        CommandLine|contains: 'b'\n    _hidden:\n        User: 'x'\n    condition: all of them\n",
    );
    // `them` leaves out `_hidden`.
    assert!(hit(
        &rule,
        &sysmon1(&[("Image", "c:\\a.exe"), ("CommandLine", "b")])
    ));
    assert!(!hit(&rule, &sysmon1(&[("Image", "c:\\a.exe")])));
    let one = process_rule(
        "    sel_a:\n        Image|endswith: '\\a.exe'\n    sel_b:\n        CommandLine|contains: 'b'\n    condition: 1 of sel_*\n",
    );
    assert!(hit(&one, &sysmon1(&[("CommandLine", "b")])));
    assert!(!hit(&one, &sysmon1(&[("CommandLine", "c")])));
}

#[test]
fn a_list_of_conditions_matches_once() {
    let text = process_rule(
        "    a:\n        CommandLine|contains: 'x'\n    b:\n        CommandLine|contains: 'y'\n    condition:\n        - a\n        - b\n",
    );
    let set = rule_set(&[&text]);
    let (engine, problems) = compile(&set, windows());
    assert!(problems.is_empty());
    assert_eq!(matching(&engine, &set, windows(), &cmd("x y")), [0]);
    assert_eq!(matching(&engine, &set, windows(), &cmd("y")), [0]);
    assert!(matching(&engine, &set, windows(), &cmd("z")).is_empty());
}

#[test]
fn variants_use_their_own_field_names_and_unavailable_fields() {
    // process_creation runs against Sysmon 1 and Security 4688 (Image → NewProcessName).
    let rule = process_rule("    sel:\n        Image|endswith: '\\evil.exe'\n    condition: sel\n");
    let security = MemoryEvent::new()
        .with("Channel", "Security")
        .with_number("EventID", 4688)
        .with("NewProcessName", "C:\\evil.exe");
    assert!(hit(&rule, &security));
    let wrong_name = MemoryEvent::new()
        .with("Channel", "Security")
        .with_number("EventID", 4688)
        .with("Image", "C:\\evil.exe");
    assert!(!hit(&rule, &wrong_name));
    // Hashes is unavailable in 4688: a positive test on it never matches there, a negated
    // one always does.
    let hashes = process_rule(
        "    sel:\n        NewProcessName|endswith: '.exe'\n    filter:\n        Hashes|contains: 'abc'\n    condition: sel and not filter\n",
    );
    let event = MemoryEvent::new()
        .with("Channel", "Security")
        .with_number("EventID", 4688)
        .with("NewProcessName", "x.exe")
        .with("Hashes", "abc");
    assert!(hit(&hashes, &event));
    let only_hashes =
        process_rule("    sel:\n        Hashes|contains: 'abc'\n    condition: sel\n");
    assert!(!hit(&only_hashes, &event));
    assert!(hit(&only_hashes, &sysmon1(&[("Hashes", "SHA1=abc")])));
}

#[test]
fn security_4688_values_are_rewritten_into_its_forms() {
    // 4688 writes the new process id in hex (NewProcessId) and the integrity level as a
    // mandatory-label SID (MandatoryLabel); the windows pipeline's transforms rewrite the
    // rule's values, so a rule written for Sysmon 1 finds the same process in 4688.
    let security = MemoryEvent::new()
        .with("Channel", "Security")
        .with_number("EventID", 4688)
        .with("NewProcessId", "0x1a74")
        .with("MandatoryLabel", "S-1-16-12288");
    let by_number = process_rule("    sel:\n        ProcessId: 6772\n    condition: sel\n");
    assert!(hit(&by_number, &security));
    let by_text = process_rule("    sel:\n        ProcessId: '6772'\n    condition: sel\n");
    assert!(hit(&by_text, &security));
    let other = process_rule("    sel:\n        ProcessId: 6773\n    condition: sel\n");
    assert!(!hit(&other, &security));
    let high = process_rule("    sel:\n        IntegrityLevel: High\n    condition: sel\n");
    assert!(hit(&high, &security));
    let list = process_rule(
        "    sel:\n        IntegrityLevel:\n            - System\n            - high\n    condition: sel\n",
    );
    assert!(hit(&list, &security));
    let system = process_rule("    sel:\n        IntegrityLevel: System\n    condition: sel\n");
    assert!(!hit(&system, &security));
    // Sysmon 1 keeps Sigma's forms.
    let sysmon = sysmon1(&[("ProcessId", "6772"), ("IntegrityLevel", "High")]);
    assert!(hit(&by_number, &sysmon));
    assert!(hit(&high, &sysmon));
    // A value with no 4688 form is compared as written: a part of a number, a pattern.
    let part = process_rule("    sel:\n        ProcessId|startswith: '0x1a'\n    condition: sel\n");
    assert!(hit(&part, &security));
    let sid =
        process_rule("    sel:\n        IntegrityLevel: 'S-1-16-12288'\n    condition: sel\n");
    assert!(hit(&sid, &security));
}

#[test]
fn first_present_name_wins() {
    let pipeline = Pipeline::from_yaml(
        "test.yml",
        "name: test\nfields:\n  Host: [Computer, Hostname]\nsources:\n  - name: all\n    logsource: {product: test}\n",
    )
    .unwrap();
    let text = rule_with(
        "{product: test}",
        "    sel:\n        Host: 'a'\n    condition: sel\n",
    );
    let set = rule_set(&[&text]);
    let (engine, problems) = compile(&set, &pipeline);
    assert!(problems.is_empty());
    let both = MemoryEvent::new()
        .with("Hostname", "a")
        .with("Computer", "b");
    assert!(matching(&engine, &set, &pipeline, &both).is_empty());
    let second = MemoryEvent::new().with("Hostname", "a");
    assert_eq!(matching(&engine, &set, &pipeline, &second), [0]);
}

#[test]
fn multi_valued_fields_match_any_value() {
    let rule = process_rule(
        "    sel:\n        Tag: 'b'\n    filter:\n        Tag: 'z'\n    condition: sel and not filter\n",
    );
    assert!(hit(&rule, &sysmon1(&[("Tag", "a"), ("Tag", "b")])));
    assert!(!hit(&rule, &sysmon1(&[("Tag", "b"), ("Tag", "z")])));
}

#[test]
fn residual_source_conditions_are_checked() {
    // registry_set runs against Sysmon 13 and Security 4657 with OperationType %%1905.
    let rule = rule_with(
        "{product: windows, category: registry_set}",
        "    sel:\n        TargetObject|contains: '\\Run\\'\n    condition: sel\n",
    );
    let event = |op: &str| {
        MemoryEvent::new()
            .with("Channel", "Security")
            .with_number("EventID", 4657)
            .with("OperationType", op)
            .with("ObjectName", "\\REGISTRY\\MACHINE\\Software\\Run\\x")
    };
    assert!(hit(&rule, &event("%%1905")));
    assert!(hit(&rule, &event("existing registry value modified")));
    assert!(!hit(&rule, &event("%%1904")));
}

#[test]
fn dispatch_keeps_rules_to_their_channels() {
    let texts = [
        process_rule("    sel:\n        CommandLine|contains: 'x'\n    condition: sel\n"),
        rule_with(
            "{product: windows, service: system}",
            "    sel:\n        CommandLine|contains: 'x'\n    condition: sel\n",
        ),
        rule_with(
            "{product: windows}",
            "    keywords:\n        - 'x'\n    condition: keywords\n",
        ),
    ];
    let set = rule_set(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    let (engine, problems) = compile(&set, windows());
    assert!(problems.is_empty(), "{problems:?}");
    let on = |channel: &str, eid: u32| {
        MemoryEvent::new()
            .with("Channel", channel)
            .with_number("EventID", eid)
            .with("CommandLine", "x")
    };
    let w = windows();
    assert_eq!(
        matching(
            &engine,
            &set,
            w,
            &on("Microsoft-Windows-Sysmon/Operational", 1)
        ),
        [0, 2]
    );
    assert_eq!(
        matching(
            &engine,
            &set,
            w,
            &on("microsoft-windows-sysmon/operational", 1)
        ),
        [0, 2]
    );
    assert_eq!(
        matching(
            &engine,
            &set,
            w,
            &on("Microsoft-Windows-Sysmon/Operational", 2)
        ),
        [2]
    );
    assert_eq!(matching(&engine, &set, w, &on("System", 7045)), [1, 2]);
    assert_eq!(matching(&engine, &set, w, &on("Unknown", 1)), [2]);
    let no_channel = MemoryEvent::new().with("CommandLine", "x");
    assert_eq!(matching(&engine, &set, w, &no_channel), [2]);
}

#[test]
fn matches_come_in_ascending_rule_order_once_each() {
    let texts = [
        process_rule("    sel:\n        CommandLine|contains: 'a'\n    condition: sel\n"),
        process_rule("    sel:\n        CommandLine|contains: 'b'\n    condition: sel\n"),
        process_rule("    sel:\n        CommandLine|re: 'a'\n    condition: sel\n"),
    ];
    let set = rule_set(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    let all = rules(&set);
    // Ids given out of order: matches are reported by ascending id.
    let ids = [(30, all[0].1), (10, all[1].1), (20, all[2].1)];
    let (engine, problems) = Engine::compile(&ids, windows(), &CompileOptions::default());
    assert!(problems.is_empty());
    let mut scratch = engine.new_scratch();
    assert_eq!(
        engine.matching_rules(&cmd("ab"), &mut scratch),
        [10, 20, 30]
    );
    assert_eq!(engine.matching_rules(&cmd("a"), &mut scratch), [20, 30]);
    assert_eq!(engine.rule_ids(), [10, 20, 30]);
}

#[test]
fn placeholders_expand_from_the_pipeline() {
    let pipeline = Pipeline::from_yaml(
        "test.yml",
        "name: test\nplaceholders:\n  Admins: ['DOM\\admin*', 'root']\nsources:\n  - name: all\n    logsource: {product: test}\n",
    )
    .unwrap();
    let text = rule_with(
        "{product: test}",
        "    sel:\n        User|expand: '%Admins%'\n    condition: sel\n",
    );
    let set = rule_set(&[&text]);
    let (engine, problems) = compile(&set, &pipeline);
    assert!(problems.is_empty(), "{problems:?}");
    let user = |u: &str| MemoryEvent::new().with("User", u);
    assert_eq!(
        matching(&engine, &set, &pipeline, &user("dom\\Administrator")),
        [0]
    );
    assert_eq!(matching(&engine, &set, &pipeline, &user("ROOT")), [0]);
    assert!(matching(&engine, &set, &pipeline, &user("bob")).is_empty());

    let unknown = rule_with(
        "{product: test}",
        "    sel:\n        User|expand: '%Nobody%'\n    condition: sel\n",
    );
    let set = rule_set(&[&unknown]);
    let (_, problems) = compile(&set, &pipeline);
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].kind,
        ProblemKind::UnknownPlaceholder("Nobody".into())
    );
    let options = CompileOptions {
        placeholders: PlaceholderPolicy::Wildcard,
    };
    let (engine, problems) = Engine::compile(&rules(&set), &pipeline, &options);
    assert!(problems.is_empty());
    let mut scratch = engine.new_scratch();
    assert_eq!(engine.matching_rules(&user("anyone"), &mut scratch), [0]);
}

#[test]
fn uncompilable_rules_come_back_with_reasons() {
    let texts = [
        rule_with(
            "{product: linux, category: process_creation}",
            "    sel:\n        Image: x\n    condition: sel\n",
        ),
        process_rule("    sel:\n        Image: x\n    condition: sel | count() by User > 5\n"),
        process_rule("    sel:\n        Image|re: 'a(?=b)'\n    condition: sel\n"),
        process_rule("    sel:\n        Image: x\n    condition: 1 of other*\n"),
        // Every field is unavailable in 4688, and the Sysmon variant exists: compiled.
        process_rule("    sel:\n        Hashes: x\n    condition: sel\n"),
    ];
    let set = rule_set(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    let documents = set.numbered_documents();
    let (engine, problems) =
        Engine::compile_documents(&documents, windows(), &CompileOptions::default());
    let codes: Vec<(usize, &str)> = problems.iter().map(|p| (p.rule, p.kind.code())).collect();
    assert_eq!(
        codes,
        [
            (0, "unmapped-logsource"),
            (1, "aggregation"),
            (2, "regex"),
            (3, "empty-pattern")
        ],
        "{problems:?}"
    );
    assert_eq!(
        problems[0].kind.to_string(),
        "no source in pipeline 'windows' for logsource product=linux category=process_creation"
    );
    assert_eq!(engine.rule_ids(), [4]);
}

#[test]
fn correlations_and_filters_are_reported() {
    let text = "title: base\nname: base\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image: x\n    condition: sel\n---\ntitle: c\ncorrelation:\n    type: event_count\n    rules: [base]\n    group-by: [User]\n    timespan: 1h\n    condition: {gte: 2}\n";
    let filter = "title: f\nlogsource: {product: windows, category: process_creation}\nfilter:\n    rules: [base]\n    selection:\n        User: x\n    condition: not selection\n";
    let set = rule_set(&[text, filter]);
    let documents = set.numbered_documents();
    let (engine, problems) =
        Engine::compile_documents(&documents, windows(), &CompileOptions::default());
    let kinds: Vec<_> = problems.iter().map(|p| (p.rule, p.kind.clone())).collect();
    assert_eq!(
        kinds,
        [(1, ProblemKind::Correlation), (2, ProblemKind::Filter)]
    );
    assert_eq!(engine.rule_ids(), [0]);
}

#[test]
fn a_rule_whose_every_variant_is_impossible_is_reported() {
    let pipeline = Pipeline::from_yaml(
        "test.yml",
        "name: test\nsources:\n  - name: only\n    logsource: {product: test}\n    unavailable: [Secret]\n",
    )
    .unwrap();
    let text = rule_with(
        "{product: test}",
        "    sel:\n        Secret: x\n    condition: sel\n",
    );
    let set = rule_set(&[&text]);
    let (engine, problems) = compile(&set, &pipeline);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, ProblemKind::NeverMatches);
    assert!(engine.rule_ids().is_empty());
}

#[test]
fn explain_reports_every_level() {
    let text = process_rule(
        "    sel:\n        Image|endswith: ['\\a.exe', '\\b.exe']\n        CommandLine|contains|all: ['-x', '-y']\n    filter:\n        User|neq: 'bob'\n    condition: sel and not filter\n",
    );
    let set = rule_set(&[&text]);
    let rule = rules(&set)[0].1;
    let event = sysmon1(&[
        ("Image", "C:\\B.exe"),
        ("CommandLine", "-x"),
        ("User", "bob"),
    ]);
    let explanation =
        sigrun_engine::explain::explain(rule, windows(), &event, &CompileOptions::default())
            .unwrap();
    assert!(!explanation.matched());
    let sysmon = &explanation.variants[0];
    assert_eq!(sysmon.source, "sysmon_process_creation");
    assert!(sysmon.selected);
    assert!(!explanation.variants[1].selected, "not a 4688 event");
    let sel = &sysmon.searches[0];
    assert_eq!(sel.name, "sel");
    assert!(!sel.matched);
    let sigrun_engine::explain::SearchNode::AllOf { items, .. } = &sel.body else {
        panic!("{sel:?}")
    };
    assert_eq!(items[0].event_field.as_deref(), Some("Image"));
    assert_eq!(
        items[0]
            .values
            .iter()
            .map(|v| v.matched)
            .collect::<Vec<_>>(),
        [false, true]
    );
    assert!(items[0].matched);
    assert_eq!(
        items[1]
            .values
            .iter()
            .map(|v| v.matched)
            .collect::<Vec<_>>(),
        [true, false]
    );
    assert!(!items[1].matched);
    let filter = &sysmon.searches[1];
    assert!(!filter.matched, "User is bob, so `User|neq: bob` is false");
}

#[test]
fn field_names_with_spaces_match_without_them() {
    // Defender writes `Threat Name`; Sigma names it `ThreatName` (spaces removed).
    let rule = rule_with(
        "{product: windows, service: windefend}",
        "    sel:\n        ThreatName|contains: 'EICAR'\n    condition: sel\n",
    );
    let event = |name: &str| {
        MemoryEvent::new()
            .with("Channel", "Microsoft-Windows-Windows Defender/Operational")
            .with(name, "Virus:DOS/EICAR_Test_File")
    };
    assert!(hit(&rule, &event("Threat Name")));
    assert!(hit(&rule, &event("ThreatName")));
    assert!(!hit(&rule, &event("Threat Names")));
    // A rule that keeps the space still finds the field under its own name.
    let spaced = rule_with(
        "{product: windows, service: windefend}",
        "    sel:\n        'Threat Name|contains': 'EICAR'\n    condition: sel\n",
    );
    assert!(hit(&spaced, &event("Threat Name")));
}

#[test]
fn a_scratch_used_with_another_engine_forgets_the_first() {
    // Both engines put CommandLine first and their one literal first, so field and atom ids
    // coincide: a scan remembered under the first engine would answer the second wrongly.
    let pipeline = windows();
    let set_a = rule_set(&[&process_rule(
        "    sel:\n        CommandLine|contains: 'whoami'\n    condition: sel\n",
    )]);
    let set_b = rule_set(&[&process_rule(
        "    sel:\n        CommandLine|contains: 'certutil'\n    condition: sel\n",
    )]);
    let (a, _) = compile(&set_a, pipeline);
    let (b, _) = compile(&set_b, pipeline);
    let event = sysmon1(&[("CommandLine", "cmd.exe /c whoami /all > out.txt")]);
    let count =
        |engine: &Engine, scratch: &mut Scratch| engine.match_event(&event, scratch, |_| {});
    let mut scratch = a.new_scratch();
    assert_eq!(count(&a, &mut scratch), 1);
    assert_eq!(count(&a, &mut scratch), 1);
    assert_eq!(count(&b, &mut scratch), 0);
    assert_eq!(count(&a, &mut scratch), 1);
}

/// An event whose field names carry ids of a name table, as EVTX events do.
struct IdEvent {
    table: u64,
    fields: Vec<(&'static str, u32, &'static str)>,
}

impl EventView for IdEvent {
    fn event_id(&self) -> Option<u32> {
        Some(1)
    }

    fn channel(&self) -> Option<&str> {
        Some("Microsoft-Windows-Sysmon/Operational")
    }

    fn for_each_field<'s>(&'s self, f: &mut dyn FnMut(&'s str, FieldValue<'s>)) {
        self.for_each_field_with_id(&mut |name, _, value| f(name, value));
    }

    fn for_each_field_with_id<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s str, Option<u32>, FieldValue<'s>),
    ) {
        for (name, id, value) in &self.fields {
            f(name, Some(*id), FieldValue::string(value));
        }
    }

    fn name_table(&self) -> u64 {
        self.table
    }
}

#[test]
fn name_ids_are_remembered_per_table_and_never_across_tables() {
    let set = rule_set(&[&process_rule(
        "    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains: whoami\n    condition: sel\n",
    )]);
    let (engine, problems) = compile(&set, windows());
    assert!(problems.is_empty());
    let mut scratch = engine.new_scratch();
    let mut matches = |event: &IdEvent| engine.matching_rules(event, &mut scratch);
    let event = |table, fields| IdEvent { table, fields };
    let hit = [
        ("Image", 0, "C:\\cmd.exe"),
        ("CommandLine", 1, "cmd /c whoami"),
    ];
    assert_eq!(matches(&event(7, hit.to_vec())), [0]);
    // Table 8 gives the ids to other names: what table 7's ids meant does not carry over.
    let swapped = [
        ("CommandLine", 0, "C:\\cmd.exe"),
        ("Image", 1, "cmd /c whoami"),
    ];
    assert!(matches(&event(8, swapped.to_vec())).is_empty());
    let right = [
        ("CommandLine", 0, "cmd /c whoami"),
        ("Image", 1, "C:\\cmd.exe"),
    ];
    assert_eq!(matches(&event(8, right.to_vec())), [0]);
    // Back to table 7, and to events without a table (0: ids are not read).
    assert_eq!(matches(&event(7, hit.to_vec())), [0]);
    assert!(matches(&event(0, swapped.to_vec())).is_empty());
    assert_eq!(matches(&event(0, right.to_vec())), [0]);
    // A name with spaces feeds its spaceless spelling too, through its id as well.
    let spaced = [("Image", 0, "C:\\cmd.exe"), ("Command Line", 2, "whoami")];
    assert_eq!(matches(&event(7, spaced.to_vec())), [0]);
    assert_eq!(matches(&event(7, spaced.to_vec())), [0]);
    // Ids far out of range are looked up by name (no table of four billion entries).
    let far = [
        ("Image", u32::MAX, "C:\\cmd.exe"),
        ("CommandLine", u32::MAX - 1, "whoami"),
    ];
    assert_eq!(matches(&event(7, far.to_vec())), [0]);
}
