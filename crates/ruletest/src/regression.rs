//! SigmaHQ's regression data: `regression_tests_path: regression_data/.../info.yml`, relative to
//! the root of the Sigma repository.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
pub struct RegressionInfo {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub regression_tests_info: Vec<RegressionCase>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegressionCase {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub match_count: Option<u64>,
    pub path: String,
}

/// Finds `relative` under the nearest ancestor of the rule's folder that holds it (the Sigma
/// repository root, where `regression_data/` sits beside `rules/`).
pub fn find_regression_info(rule_path: &Path, relative: &str) -> Option<PathBuf> {
    let mut folder = rule_path.parent();
    while let Some(dir) = folder {
        let candidate = dir.join(relative);
        if candidate.is_file() {
            return Some(candidate);
        }
        folder = dir.parent();
    }
    None
}

impl RegressionInfo {
    pub fn parse(text: &str) -> Result<RegressionInfo, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// The repository root an `info.yml` belongs to: its paths are relative to it. The info
    /// file sits at `<root>/regression_data/...`.
    pub fn root_of(info_path: &Path) -> PathBuf {
        let mut folder = info_path.parent();
        while let Some(dir) = folder {
            if dir.file_name().is_some_and(|n| n == "regression_data") {
                return dir.parent().unwrap_or(dir).to_path_buf();
            }
            folder = dir.parent();
        }
        info_path.parent().unwrap_or(Path::new(".")).to_path_buf()
    }
}
