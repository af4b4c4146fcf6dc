//! Findings about rules: errors, warnings and notes, each with a source location.
//!
//! A [`Diagnostic`] is plain data. Rendering it for a terminal (source line and caret) lives
//! here too, because it only needs the [`SourceFile`]; JSON and SARIF printers live in the CLI.

use crate::source::{LineCol, SourceFile, Span};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::fmt;
use std::str::FromStr;

/// How serious a finding is. Ordered: `Error > Warning > Info`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "note" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity '{other}' (expected error, warning or info)"
            )),
        }
    }
}

/// A secondary location that explains the primary one ("first defined here").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

/// A check's name. (An alias, so that serde does not take the field for text borrowed from
/// the input: codes read back from the parse cache are interned instead.)
pub type Code = &'static str;

/// One finding in one file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The name of the check that produced it (`yaml`, `unknown-modifier`, `attack-tag` ...).
    /// Validators can be disabled by this name.
    #[serde(deserialize_with = "intern_code")]
    pub code: Code,
    pub message: String,
    /// Where in the file; `None` for findings about the file as a whole.
    pub span: Option<Span>,
    /// Text shown at the caret.
    pub label: Option<String>,
    pub related: Vec<Related>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            span: None,
            label: None,
            related: Vec::new(),
            help: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn info(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, code, message)
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    /// Line and column of the primary span in `file`.
    pub fn line_col(&self, file: &SourceFile) -> Option<LineCol> {
        self.span.map(|span| file.line_col(span.start))
    }
}

/// How to draw diagnostics for a terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderStyle {
    pub color: bool,
}

/// Renders a diagnostic in the style of rustc: a header line, the file, line and column, the
/// source line(s) with a caret under the span, related locations and help.
pub fn render(file: &SourceFile, diagnostic: &Diagnostic, style: RenderStyle) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::NOTE,
    };
    let path = file.path().display().to_string();
    let title = level
        .primary_title(diagnostic.message.as_str())
        .id(diagnostic.code);
    let mut group = match diagnostic.span {
        None => title.element(Level::NOTE.message(format!("in {path}"))),
        Some(span) => {
            // Show only the lines the annotations touch, so rendering cost does not grow with
            // the file size.
            let mut spans = vec![span];
            spans.extend(diagnostic.related.iter().map(|r| r.span));
            let window = LineWindow::covering(file, &spans);
            let mut snippet = Snippet::source(window.text)
                .line_start(window.first_line as usize)
                .path(path.clone())
                .annotation(
                    AnnotationKind::Primary
                        .span(window.relative(span))
                        .label(diagnostic.label.as_deref()),
                );
            for related in &diagnostic.related {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(window.relative(related.span))
                        .label(Some(related.message.as_str())),
                );
            }
            title.element(snippet)
        }
    };
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let report: [Group<'_>; 1] = [group];
    let renderer = if style.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&report)
}

/// The smallest run of whole lines that contains a set of spans.
struct LineWindow<'f> {
    text: &'f str,
    first_line: u32,
    offset: usize,
}

impl<'f> LineWindow<'f> {
    fn covering(file: &'f SourceFile, spans: &[Span]) -> LineWindow<'f> {
        let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let end = spans.iter().map(|s| s.end).max().unwrap_or(0);
        let first_line = file.line_col(start).line;
        let last_line = file.line_col(end.max(start)).line;
        let from = file.line_range(first_line).start;
        let to = file.line_range(last_line).end;
        LineWindow {
            text: file.text().get(from..to).unwrap_or(""),
            first_line,
            offset: from,
        }
    }

    fn relative(&self, span: Span) -> std::ops::Range<usize> {
        let start = (span.start as usize)
            .saturating_sub(self.offset)
            .min(self.text.len());
        let end = (span.end as usize)
            .saturating_sub(self.offset)
            .clamp(start, self.text.len());
        start..end
    }
}

/// Reads a diagnostic's code back (from the parse cache) as the `&'static str` the code
/// names are: each distinct name is allocated once per process and kept, so a few dozen
/// names cost a few dozen small allocations however many diagnostics are read.
fn intern_code<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<&'static str, D::Error> {
    use std::collections::HashSet;
    use std::sync::{Mutex, PoisonError};
    static CODES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
    let mut codes = CODES.lock().unwrap_or_else(PoisonError::into_inner);
    let codes = codes.get_or_insert_with(HashSet::new);
    if let Some(&code) = codes.get(&*name) {
        return Ok(code);
    }
    let code: &'static str = Box::leak(name.into_owned().into_boxed_str());
    codes.insert(code);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Error > Severity::Warning);
        assert!(Severity::Warning > Severity::Info);
        assert_eq!("WARN".parse::<Severity>(), Ok(Severity::Warning));
        assert!("fatal".parse::<Severity>().is_err());
    }

    #[test]
    fn renders_source_line_and_caret() {
        let file = SourceFile::new(
            "rules/x.yml",
            "title: t\ndetection:\n    sel:\n        Image|contians: x\n",
        );
        let start = file.text().find("contians").unwrap() as u32;
        let diagnostic = Diagnostic::error("unknown-modifier", "unknown modifier 'contians'")
            .at(Span::new(start, start + 8))
            .label("not a Sigma modifier")
            .help("did you mean 'contains'?");
        let text = render(&file, &diagnostic, RenderStyle::default());
        let expected = "\
error[unknown-modifier]: unknown modifier 'contians'
 --> rules/x.yml:4:15
  |
4 |         Image|contians: x
  |               ^^^^^^^^ not a Sigma modifier
  |
  = help: did you mean 'contains'?";
        assert_eq!(text, expected);
    }

    #[test]
    fn renders_file_level_findings_without_a_snippet() {
        let file = SourceFile::new("rules/x.yml", "title: t\n");
        let diagnostic =
            Diagnostic::warning("filename", "file name does not follow the convention");
        let text = render(&file, &diagnostic, RenderStyle::default());
        assert_eq!(
            text,
            "warning[filename]: file name does not follow the convention\n |\n = note: in rules/x.yml"
        );
    }
}
