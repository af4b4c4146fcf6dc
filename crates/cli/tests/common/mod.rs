//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test file uses a part of this module")]

/// Extracts the Sigma rule of seed 001 (a Markdown page with the rule in a code fence).
pub fn seed_001_rule(text: &str) -> Option<String> {
    let start = text.find("### Sigma rule")?;
    let fence = text[start..].find("```")? + start + 3;
    let end = text[fence..].find("```")? + fence;
    Some(text[fence..end].trim_start_matches('\n').to_string())
}

/// Seed 000 prints its rule with the indentation lost. Restore it from Sigma's structure:
/// known top-level keys at column 0, list items and the keys under `logsource`/`detection` one
/// level in, the entries of a search identifier two levels in, `condition` back at one.
pub fn seed_000_rule(text: &str) -> Option<String> {
    const TOP: &[&str] = &[
        "title",
        "id",
        "status",
        "description",
        "references",
        "author",
        "date",
        "modified",
        "tags",
        "logsource",
        "detection",
        "falsepositives",
        "level",
    ];
    let start = text.find("title:")?;
    let mut out = String::new();
    let mut section = "";
    let mut in_search = false;
    for line in text[start..].lines() {
        let key = line.split(':').next().unwrap_or("");
        if TOP.contains(&key) && line.contains(':') {
            section = key;
            in_search = false;
            out.push_str(line);
        } else if line.starts_with("- ") || (section == "logsource" && line.contains(": ")) {
            out.push_str("    ");
            out.push_str(line);
        } else if section == "detection" && (line.ends_with(':') || key == "condition") {
            in_search = key != "condition";
            out.push_str("    ");
            out.push_str(line);
        } else if section == "detection" && in_search {
            out.push_str("        ");
            out.push_str(line);
        } else {
            break;
        }
        out.push('\n');
        if section == "level" {
            break;
        }
    }
    Some(out)
}
