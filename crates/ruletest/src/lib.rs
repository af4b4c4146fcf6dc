//! Rule tests: which events a Sigma rule must match and which it must not, run through the
//! same pipeline, readers and engine as `sigrun hunt`.
//!
//! Two sources of test cases:
//! - sidecar files `<rule>.tests.yml` next to a rule (format: `crates/pack/TESTS-FORMAT.md`),
//!   with inline events or a log file and the expected outcome;
//! - SigmaHQ's regression data: a rule's `regression_tests_path` names an `info.yml` whose
//!   `regression_tests_info` entries give an EVTX or JSON file and its `match_count`.
//!
//! [`find_tests`] says what a rule has; [`run_rule_tests`] runs it and reports every case with
//! the reason it passed or failed (which events matched, and for a failing event which
//! searches of the rule matched it).

mod regression;
mod run;
mod sidecar;

pub use regression::{RegressionCase, RegressionInfo, find_regression_info};
pub use run::{
    CaseResult, Expectation, Outcome, RuleTestReport, TestSource, run_rule_tests, run_sidecar_text,
    summarize,
};
pub use sidecar::{Sidecar, SidecarCase, SidecarError, SidecarEvents, sidecar_path};

use std::path::{Path, PathBuf};

/// The tests found for a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A sidecar `<rule>.tests.yml`.
    Sidecar(PathBuf),
    /// SigmaHQ regression data (`regression_tests_path`), resolved to an existing `info.yml`.
    Regression(PathBuf),
    /// `regression_tests_path` names a file that is not there: the rule is skipped, not failed.
    MissingRegression(String),
    /// No tests.
    None,
}

/// What tests a rule file has: a sidecar wins over regression data.
pub fn find_tests(rule_path: &Path, regression_tests_path: Option<&str>) -> Found {
    let sidecar = sidecar_path(rule_path);
    if sidecar.is_file() {
        return Found::Sidecar(sidecar);
    }
    match regression_tests_path {
        None => Found::None,
        Some(relative) => match find_regression_info(rule_path, relative) {
            Some(path) => Found::Regression(path),
            None => Found::MissingRegression(relative.to_string()),
        },
    }
}
