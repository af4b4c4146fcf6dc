//! Source files and byte spans: every AST node points back into the text it came from.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A half-open byte range `[start, end)` into a [`SourceFile`]'s text.
///
/// Offsets are `u32` to keep AST nodes small; rule files are far below 4 GiB, and the loader
/// refuses larger inputs.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    /// A zero-width span at `offset`.
    pub const fn point(offset: u32) -> Span {
        Span {
            start: offset,
            end: offset,
        }
    }

    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// A sub-span given relative byte offsets inside this span, clamped to it.
    pub fn sub(self, from: usize, to: usize) -> Span {
        let start = (self.start as usize + from).min(self.end as usize) as u32;
        let end = (self.start as usize + to).clamp(start as usize, self.end as usize) as u32;
        Span { start, end }
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A value together with the span it was read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned {
            value: f(self.value),
            span: self.span,
        }
    }

    pub fn as_ref(&self) -> Spanned<&T> {
        Spanned {
            value: &self.value,
            span: self.span,
        }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// 1-based line and column (the column counts characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A loaded text file: its name for messages, its text and a line index.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
    /// Where each line starts, made when a message first needs a line: most files loaded
    /// never do (a hunt that reads its compiled rules back only hashes their texts).
    line_starts: OnceLock<Vec<u32>>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        })
    }

    fn line_starts(&self) -> &[u32] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0u32];
            starts.extend(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|i| i as u32 + 1));
            starts
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text a span covers (empty when the span is out of range or not on char boundaries).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// Line and column of a byte offset.
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = offset.min(self.text.len() as u32);
        let line_starts = self.line_starts();
        let line_index = match line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = line_starts[line_index] as usize;
        let column = self
            .text
            .get(line_start..offset as usize)
            .map_or(offset as usize - line_start, |s| s.chars().count());
        LineCol {
            line: line_index as u32 + 1,
            column: column as u32 + 1,
        }
    }

    /// The byte range of the 1-based line `line`, without its line break.
    pub fn line_range(&self, line: u32) -> std::ops::Range<usize> {
        let index = (line.max(1) - 1) as usize;
        let line_starts = self.line_starts();
        let start = line_starts
            .get(index)
            .copied()
            .unwrap_or(self.text.len() as u32) as usize;
        let end = line_starts
            .get(index + 1)
            .map_or(self.text.len(), |&next| next as usize - 1);
        let end = if self.text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let file = SourceFile::new("x.yml", "ab\nçd: e\n\nz");
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, column: 1 });
        // 'ç' is two bytes; 'd' is the second character of line 2.
        assert_eq!(file.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(file.line_col(11), LineCol { line: 4, column: 1 });
        assert_eq!(file.line_col(999), LineCol { line: 4, column: 2 });
    }

    #[test]
    fn line_range_excludes_line_breaks() {
        let file = SourceFile::new("x.yml", "one\r\ntwo\nthree");
        assert_eq!(&file.text()[file.line_range(1)], "one");
        assert_eq!(&file.text()[file.line_range(2)], "two");
        assert_eq!(&file.text()[file.line_range(3)], "three");
    }

    #[test]
    fn span_sub_is_clamped() {
        let span = Span::new(10, 20);
        assert_eq!(span.sub(2, 5), Span::new(12, 15));
        assert_eq!(span.sub(8, 50), Span::new(18, 20));
        assert_eq!(span.sub(50, 60), Span::new(20, 20));
    }
}
