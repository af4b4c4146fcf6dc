//! Printers of alerts (table, JSON Lines, CSV) and of the end-of-hunt summary. Printers
//! receive finished alerts in output order; they never match.

use super::alert::Alert;
use super::rules::RuleInfo;
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use serde_json::value::RawValue;
use sigrun_logs::write_json_string;
use sigrun_rule::Level;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table, coloured by level on a terminal.
    Table,
    /// One JSON object per alert with the rule's metadata and the whole event.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

pub trait AlertSink {
    fn alert(&mut self, alert: &Alert, rule: &RuleInfo) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn sink<'w>(format: Format, out: Box<dyn Write + 'w>, color: bool) -> Box<dyn AlertSink + 'w> {
    match format {
        Format::Table => Box::new(Table {
            out,
            color,
            header_written: false,
        }),
        Format::Jsonl => Box::new(Jsonl {
            out,
            lines: Vec::with_capacity(JSONL_BLOCK + (64 << 10)),
            location: String::new(),
            file: None,
            rules: Vec::new(),
        }),
        Format::Csv => Box::new(Csv {
            out: csv::Writer::from_writer(out),
            header_written: false,
        }),
    }
}

fn level_name(level: Option<Level>) -> &'static str {
    level.map_or("-", |l| l.as_str())
}

fn level_style(level: Option<Level>) -> Style {
    let color = match level {
        Some(Level::Critical) => AnsiColor::BrightRed,
        Some(Level::High) => AnsiColor::Red,
        Some(Level::Medium) => AnsiColor::Yellow,
        Some(Level::Low) => AnsiColor::Green,
        _ => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(color.into()))
}

/// `Microsoft-Windows-Sysmon/Operational` → `Sysmon`.
fn short_channel(channel: &str) -> &str {
    let channel = channel
        .strip_prefix("Microsoft-Windows-")
        .unwrap_or(channel);
    channel.strip_suffix("/Operational").unwrap_or(channel)
}

/// Cut `text` to `width` characters, marking the cut with `…`, and pad it to `width`.
fn cell(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:width$}")
    } else {
        let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn attack_tags(rule: &RuleInfo) -> String {
    rule.tags
        .iter()
        .filter(|t| t.starts_with("attack.t"))
        .map(|t| t.trim_start_matches("attack.").to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// `Name=value` pairs; in the table each value has its whitespace runs collapsed and is cut
/// to `limit` characters (the JSON and CSV outputs carry the whole event anyway).
fn key_fields(alert: &Alert, limit: Option<usize>) -> String {
    alert
        .key_fields
        .iter()
        .map(|(name, value)| {
            let value = match limit {
                Some(limit) => {
                    let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
                    cell(&collapsed, limit.min(collapsed.chars().count()))
                }
                None => value.clone(),
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// `2026-11-20T09:02:40.1180000Z` → `2026-11-20 09:02:40.118` (UTC, milliseconds).
fn short_time(timestamp: &str) -> String {
    let mut out: String = timestamp.trim_end_matches('Z').replacen('T', " ", 1);
    if let Some(dot) = out.find('.') {
        out.truncate((dot + 4).min(out.len()));
    }
    out
}

struct Table<'w> {
    out: Box<dyn Write + 'w>,
    color: bool,
    header_written: bool,
}

impl AlertSink for Table<'_> {
    fn alert(&mut self, alert: &Alert, rule: &RuleInfo) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            writeln!(
                self.out,
                "{} {} {} {} {} {} Details",
                cell("Time (UTC)", 23),
                cell("Computer", 18),
                cell("Event", 22),
                cell("Level", 8),
                cell("Rule", 52),
                cell("ATT&CK", 20),
            )?;
        }
        let event = format!(
            "{}/{}",
            short_channel(alert.event.channel()),
            alert
                .event
                .event_id
                .map_or("-".to_string(), |id| id.to_string())
        );
        let level = cell(level_name(rule.level), 8);
        let level = if self.color {
            let style = level_style(rule.level);
            format!("{style}{level}{style:#}")
        } else {
            level
        };
        writeln!(
            self.out,
            "{} {} {} {} {} {} {}",
            cell(&short_time(alert.event.timestamp()), 23),
            cell(alert.event.computer(), 18),
            cell(&event, 22),
            level,
            cell(&rule.title, 52),
            cell(&attack_tags(rule), 20),
            key_fields(alert, Some(80))
        )
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

struct Jsonl<'w> {
    out: Box<dyn Write + 'w>,
    /// Alerts written and not yet handed to `out`: each is written here whole (an alert
    /// carries its event, 2 KB on average), and handed on in blocks of [`JSONL_BLOCK`] bytes,
    /// which a buffered `out` passes straight through instead of copying them once more.
    lines: Vec<u8>,
    /// The alert's location as text, reused from alert to alert.
    location: String,
    /// The last alert's file and its name as a JSON string: a file's alerts come together.
    file: Option<(Arc<Path>, Vec<u8>)>,
    /// Each rule's `rule` object, by rule index, written on its first alert: it is the same
    /// in every alert of the rule.
    rules: Vec<Option<Box<RawValue>>>,
}

#[derive(Serialize)]
struct JsonlRule<'a> {
    id: &'a str,
    title: &'a str,
    author: &'a str,
    level: Option<&'static str>,
    status: Option<&'static str>,
    tags: &'a [String],
    path: &'a str,
}

impl AlertSink for Jsonl<'_> {
    fn alert(&mut self, alert: &Alert, rule: &RuleInfo) -> io::Result<()> {
        let event = &*alert.event;
        if self.rules.len() <= alert.rule {
            self.rules.resize(alert.rule + 1, None);
        }
        let rule = match &mut self.rules[alert.rule] {
            Some(written) => &**written,
            slot => &**slot.insert(serde_json::value::to_raw_value(&JsonlRule {
                id: &rule.id,
                title: &rule.title,
                author: &rule.author,
                level: rule.level.map(|l| l.as_str()),
                status: rule.status.map(|s| s.as_str()),
                tags: &rule.tags,
                path: &rule.path,
            })?),
        };
        // Written field by field, strings escaped as `serde_json` escapes them (through
        // `serde_json`, the head cost 7,000 instructions an alert).
        let line = &mut self.lines;
        let number = |line: &mut Vec<u8>, n: Option<u64>| match n {
            Some(n) => line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            None => line.extend_from_slice(b"null"),
        };
        line.extend_from_slice(b"{\"timestamp\":");
        write_json_string(event.timestamp(), line);
        line.extend_from_slice(b",\"computer\":");
        write_json_string(event.computer(), line);
        line.extend_from_slice(b",\"channel\":");
        write_json_string(event.channel(), line);
        line.extend_from_slice(b",\"event_id\":");
        number(line, event.event_id.map(u64::from));
        line.extend_from_slice(b",\"record_id\":");
        number(line, event.record_id);
        line.extend_from_slice(b",\"rule\":");
        line.extend_from_slice(rule.get().as_bytes());
        line.extend_from_slice(b",\"source\":");
        write_json_string(alert.source, line);
        line.extend_from_slice(b",\"file\":");
        let file = match &mut self.file {
            Some((path, json)) if Arc::ptr_eq(path, &alert.file) => json,
            slot => {
                let mut json = Vec::new();
                write_json_string(&alert.file.to_string_lossy(), &mut json);
                &slot.insert((Arc::clone(&alert.file), json)).1
            }
        };
        line.extend_from_slice(file);
        line.extend_from_slice(b",\"location\":");
        self.location.clear();
        write!(self.location, "{}", event.location).map_err(io::Error::other)?;
        write_json_string(&self.location, line);
        // The event is already compact JSON: spliced in rather than parsed again.
        line.extend_from_slice(b",\"event\":");
        line.extend_from_slice(event.json().as_bytes());
        line.extend_from_slice(b"}\n");
        if self.lines.len() >= JSONL_BLOCK {
            self.hand_on()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.hand_on()?;
        self.out.flush()
    }
}

/// Bytes of JSON Lines alerts handed to the output at a time.
const JSONL_BLOCK: usize = 1 << 20;

impl Jsonl<'_> {
    fn hand_on(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.lines);
        self.lines.clear();
        written
    }
}

impl Drop for Jsonl<'_> {
    /// Alerts still held are written when the hunt stops early (on an error), as a buffered
    /// writer writes what it holds when dropped.
    fn drop(&mut self) {
        let _ = self.hand_on();
    }
}

struct Csv<'w> {
    out: csv::Writer<Box<dyn Write + 'w>>,
    header_written: bool,
}

impl AlertSink for Csv<'_> {
    fn alert(&mut self, alert: &Alert, rule: &RuleInfo) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.out.write_record([
                "timestamp",
                "computer",
                "channel",
                "event_id",
                "record_id",
                "level",
                "rule_title",
                "rule_id",
                "rule_author",
                "tags",
                "file",
                "location",
                "details",
                "event",
            ])?;
        }
        let event = &*alert.event;
        self.out.write_record([
            event.timestamp(),
            event.computer(),
            event.channel(),
            &event.event_id.map(|id| id.to_string()).unwrap_or_default(),
            &event.record_id.map(|id| id.to_string()).unwrap_or_default(),
            level_name(rule.level),
            &rule.title,
            &rule.id,
            &rule.author,
            &rule.tags.join(" "),
            &alert.file.display().to_string(),
            &event.location.to_string(),
            &key_fields(alert, None),
            event.json(),
        ])?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Counts for the end-of-hunt summary.
#[derive(Default)]
pub struct Summary {
    pub per_rule: BTreeMap<usize, u64>,
    pub events: u64,
    pub files: usize,
    pub read_problems: u64,
    pub unreadable_sources: usize,
    pub rules_compiled: usize,
    pub rules_skipped: usize,
    pub rules_filtered: usize,
}

impl Summary {
    pub fn alerts(&self) -> u64 {
        self.per_rule.values().sum()
    }

    pub fn print(&self, out: &mut dyn Write, rules: &[RuleInfo], color: bool) -> io::Result<()> {
        let mut levels: BTreeMap<std::cmp::Reverse<Option<Level>>, u64> = BTreeMap::new();
        for (&rule, &count) in &self.per_rule {
            *levels
                .entry(std::cmp::Reverse(rules[rule].level))
                .or_default() += count;
        }
        writeln!(out)?;
        writeln!(
            out,
            "{} alerts from {} rules in {} events of {} files",
            self.alerts(),
            self.per_rule.len(),
            self.events,
            self.files,
        )?;
        if !levels.is_empty() {
            let by_level: Vec<String> = levels
                .iter()
                .map(|(level, count)| {
                    let name = level_name(level.0);
                    if color {
                        let style = level_style(level.0);
                        format!("{style}{name}{style:#}: {count}")
                    } else {
                        format!("{name}: {count}")
                    }
                })
                .collect();
            writeln!(out, "by level: {}", by_level.join(", "))?;
            let mut by_rule: Vec<(usize, u64)> =
                self.per_rule.iter().map(|(&r, &c)| (r, c)).collect();
            by_rule.sort_by(|a, b| {
                (
                    std::cmp::Reverse(rules[a.0].level),
                    std::cmp::Reverse(a.1),
                    &rules[a.0].title,
                )
                    .cmp(&(
                        std::cmp::Reverse(rules[b.0].level),
                        std::cmp::Reverse(b.1),
                        &rules[b.0].title,
                    ))
            });
            writeln!(out, "by rule:")?;
            for (rule, count) in by_rule {
                let info = &rules[rule];
                writeln!(
                    out,
                    "  {count:>6}  {:<13} {}",
                    level_name(info.level),
                    info.title
                )?;
            }
        }
        writeln!(
            out,
            "rules: {} compiled, {} skipped, {} left out by filters; input: {} records skipped, {} sources unreadable",
            self.rules_compiled,
            self.rules_skipped,
            self.rules_filtered,
            self.read_problems,
            self.unreadable_sources
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::alert::AlertEvent;
    use super::*;
    use sigrun_logs::Location;

    /// The head as `serde_json` writes a struct of its fields, in this order.
    #[derive(Serialize)]
    struct Head<'a> {
        timestamp: &'a str,
        computer: &'a str,
        channel: &'a str,
        event_id: Option<u32>,
        record_id: Option<u64>,
        rule: &'a RawValue,
        source: &'a str,
        file: &'a str,
        location: &'a str,
    }

    /// JSON Lines alerts go out whole and in order however many blocks they fill, and a sink
    /// dropped without `finish` (a hunt stopped by an error) still writes those it holds.
    #[test]
    fn jsonl_alerts_are_all_written_in_blocks_and_when_dropped() {
        let rule = RuleInfo {
            title: "t".into(),
            id: "id".into(),
            author: "a".into(),
            level: None,
            status: None,
            tags: Vec::new(),
            path: "r.yml".into(),
            fields: Vec::new(),
        };
        let file: Arc<Path> = Arc::from(Path::new("a.evtx"));
        let alert = |n: usize| Alert {
            rule: 0,
            source: "s",
            file: Arc::clone(&file),
            event: Arc::new(AlertEvent::from_parts(
                Location::Source,
                Some(n as u32),
                None,
                [
                    "",
                    "",
                    "",
                    &format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(3000)),
                ],
            )),
            key_fields: Vec::new(),
        };
        let count = 2 * JSONL_BLOCK / 3000 + 7;
        for finish in [true, false] {
            let mut out = Vec::new();
            {
                let mut sink = sink(Format::Jsonl, Box::new(&mut out), false);
                for n in 0..count {
                    sink.alert(&alert(n), &rule).expect("written");
                }
                if finish {
                    sink.finish().expect("flushed");
                }
            }
            let text = String::from_utf8(out).expect("utf-8");
            let ids: Vec<u64> = text
                .lines()
                .map(|line| {
                    let alert: serde_json::Value = serde_json::from_str(line).expect("json");
                    alert["event_id"].as_u64().expect("id")
                })
                .collect();
            assert_eq!(
                ids,
                (0..count as u64).collect::<Vec<_>>(),
                "finish: {finish}"
            );
        }
    }

    /// A JSON Lines alert is the head `serde_json` would write, then the event spliced in:
    /// with and without event and record ids, and text that needs escaping everywhere.
    #[test]
    fn jsonl_alerts_are_what_serde_json_writes() {
        let rule = RuleInfo {
            title: "t \"q\"".into(),
            id: "id".into(),
            author: "a\\b".into(),
            level: Some(Level::High),
            status: None,
            tags: vec!["attack.t1546.003".into()],
            path: "r.yml".into(),
            fields: Vec::new(),
        };
        for (event_id, record_id) in [(Some(5861), Some(7)), (None, None)] {
            let location = Location::Record {
                chunk: 3,
                record_id: Some(7),
                offset: Some(0x200),
            };
            let event = Arc::new(AlertEvent::from_parts(
                location,
                event_id,
                record_id,
                [
                    "2026-11-30T00:00:00\"Z",
                    "h\u{e9}\t",
                    "Microsoft-Windows-WMI-Activity/Operational\u{1}",
                    r#"{"Event":{"System":{}}}"#,
                ],
            ));
            let alert = Alert {
                rule: 0,
                source: "sysmon \u{1}",
                file: Arc::from(Path::new("C:\\logs\\\"x\".evtx")),
                event: Arc::clone(&event),
                key_fields: Vec::new(),
            };
            let mut out = Vec::new();
            {
                let mut sink = sink(Format::Jsonl, Box::new(&mut out), false);
                sink.alert(&alert, &rule).expect("written");
                sink.finish().expect("flushed");
            }
            let rule_json = serde_json::value::to_raw_value(&JsonlRule {
                id: &rule.id,
                title: &rule.title,
                author: &rule.author,
                level: rule.level.map(|l| l.as_str()),
                status: None,
                tags: &rule.tags,
                path: &rule.path,
            })
            .expect("rule");
            let file = alert.file.to_string_lossy();
            let mut expected = serde_json::to_string(&Head {
                timestamp: event.timestamp(),
                computer: event.computer(),
                channel: event.channel(),
                event_id,
                record_id,
                rule: &rule_json,
                source: alert.source,
                file: &file,
                location: "chunk 3, record 7, offset 0x200 in chunk",
            })
            .expect("head");
            expected.pop();
            expected.push_str(",\"event\":");
            expected.push_str(event.json());
            expected.push_str("}\n");
            assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
        }
    }
}
