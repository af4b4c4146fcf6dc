//! YAML text → AST → validators: any input gives diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_rule::{RuleSet, SourceFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let set = RuleSet::from_sources([SourceFile::new("fuzz.yml", text.into_owned())]);
    let findings = sigrun_rule::validate::validate(
        &set,
        sigrun_attack::AttackData::embedded(),
        &Default::default(),
    );
    for (file, findings) in set.files.iter().zip(&findings) {
        for diagnostic in &findings.diagnostics {
            let _ = sigrun_rule::diagnostic::render(&file.source, diagnostic, Default::default());
        }
    }
});
