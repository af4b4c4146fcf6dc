//! Parse cache files and entries: any bytes give a cache (perhaps empty, with a reason) and a
//! parse, never a panic; whatever decodes as an entry is validated and rendered like the
//! parser's own output (the cache trusts an entry once its file's checksum holds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_rule::cache::{ParseCache, decode_entry};
use sigrun_rule::{RuleSet, SourceFile};

const RULE: &str = "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith: x\n  condition: sel\n";

fuzz_target!(|data: &[u8]| {
    // As a whole cache file.
    let cache = ParseCache::from_bytes("fuzz.bin", data.to_vec());
    let file = cache.parse(SourceFile::new("f.yml", RULE.to_string()));
    assert_eq!(file.documents.len(), 1);

    // As one entry, read back as the parse of a rule's text.
    if let Ok(file) = decode_entry(SourceFile::new("f.yml", RULE.to_string()), data) {
        let set = RuleSet { files: vec![file] };
        let findings = sigrun_rule::validate::validate(
            &set,
            sigrun_attack::AttackData::embedded(),
            &Default::default(),
        );
        for (file, findings) in set.files.iter().zip(&findings) {
            for diagnostic in file.all_diagnostics().chain(&findings.diagnostics) {
                let _ = sigrun_rule::diagnostic::render(&file.source, diagnostic, Default::default());
                let _ = diagnostic.line_col(&file.source);
            }
        }
    }
});
