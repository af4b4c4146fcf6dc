//! Case folding and wildcard matching on text.
//!
//! Case-insensitive matching compares lower-cased text: rule literals are folded once at
//! compile time, event values once per event, with the same function, so that both sides
//! agree for every character (ASCII takes a fast path; other text folds per character with
//! `char::to_lowercase`).

/// Appends the lower-case form of `text` to `out`.
#[inline]
pub fn push_lower(out: &mut String, text: &str) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

/// The lower-case form of `text`, as [`push_lower`] folds it.
pub fn lower(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_lower(&mut out, text);
    out
}

/// One token of a wildcard pattern segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GlobToken {
    Text(Box<str>),
    /// `?`: exactly one character.
    One,
}

/// A Sigma wildcard pattern (`*` any run, `?` one character), split at its stars into
/// segments. Matching places each inner segment at its leftmost possible position, which is
/// optimal for star-separated segments, so matching is linear in practice and never
/// backtracks across stars.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Glob {
    /// The pattern begins with `*`.
    open_start: bool,
    /// The pattern ends with `*`.
    open_end: bool,
    /// The non-empty segments between stars.
    segments: Vec<Vec<GlobToken>>,
}

/// A pattern piece as the compiler hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobPart<'a> {
    Text(&'a str),
    Star,
    One,
}

impl Glob {
    pub fn new<'a>(parts: impl IntoIterator<Item = GlobPart<'a>>) -> Glob {
        let parts: Vec<GlobPart<'a>> = parts.into_iter().collect();
        let open_start = matches!(parts.first(), Some(GlobPart::Star));
        let open_end = matches!(parts.last(), Some(GlobPart::Star));
        let mut segments = Vec::new();
        let mut current: Vec<GlobToken> = Vec::new();
        for part in parts {
            match part {
                GlobPart::Star => {
                    if !current.is_empty() {
                        segments.push(std::mem::take(&mut current));
                    }
                }
                GlobPart::One => current.push(GlobToken::One),
                GlobPart::Text("") => {}
                GlobPart::Text(t) => match current.last_mut() {
                    Some(GlobToken::Text(prev)) => {
                        let mut joined = prev.to_string();
                        joined.push_str(t);
                        *prev = joined.into_boxed_str();
                    }
                    _ => current.push(GlobToken::Text(t.into())),
                },
            }
        }
        if !current.is_empty() {
            segments.push(current);
        }
        Glob {
            open_start,
            open_end,
            segments,
        }
    }

    /// Whether the whole of `text` matches the pattern.
    pub fn matches(&self, text: &str) -> bool {
        let n = self.segments.len();
        if n == 0 {
            // "" matches only the empty text; "*" (or "**") matches everything.
            return self.open_start || self.open_end || text.is_empty();
        }
        let mut pos = 0usize;
        for (k, segment) in self.segments.iter().enumerate() {
            let first = k == 0;
            let last = k == n - 1;
            if first && !self.open_start {
                let Some(end) = match_at(segment, text, 0) else {
                    return false;
                };
                if last && !self.open_end {
                    return end == text.len();
                }
                pos = end;
            } else if last && !self.open_end {
                // The last segment must end exactly at the end of the text.
                if let Some(len) = fixed_len(segment) {
                    return text.len() >= pos + len
                        && match_at(segment, text, text.len() - len) == Some(text.len());
                }
                return (pos..=text.len())
                    .filter(|&i| text.is_char_boundary(i))
                    .any(|i| match_at(segment, text, i) == Some(text.len()));
            } else {
                match find_from(segment, text, pos) {
                    Some(end) => pos = end,
                    None => return false,
                }
            }
        }
        true
    }

    /// The longest literal text in the pattern: every match contains it, so it serves as a
    /// prefilter.
    pub fn longest_text(&self) -> Option<&str> {
        self.segments
            .iter()
            .flatten()
            .filter_map(|t| match t {
                GlobToken::Text(text) => Some(&**text),
                GlobToken::One => None,
            })
            .max_by_key(|t| t.len())
    }
}

/// The byte length of a segment without `?` (whose matches all have that length).
fn fixed_len(segment: &[GlobToken]) -> Option<usize> {
    segment.iter().try_fold(0, |len, token| match token {
        GlobToken::Text(t) => Some(len + t.len()),
        GlobToken::One => None,
    })
}

/// Matches `segment` at byte offset `at`; returns the end offset.
fn match_at(segment: &[GlobToken], text: &str, at: usize) -> Option<usize> {
    let mut pos = at;
    for token in segment {
        match token {
            GlobToken::Text(t) => {
                if text.get(pos..)?.starts_with(&**t) {
                    pos += t.len();
                } else {
                    return None;
                }
            }
            GlobToken::One => {
                let c = text.get(pos..)?.chars().next()?;
                pos += c.len_utf8();
            }
        }
    }
    Some(pos)
}

/// The end of the leftmost match of `segment` starting at or after `from`.
fn find_from(segment: &[GlobToken], text: &str, from: usize) -> Option<usize> {
    let mut start = from;
    loop {
        if start > text.len() {
            return None;
        }
        // Jump to the next occurrence of the segment's first text, when it starts with one.
        if let Some(GlobToken::Text(t)) = segment.first() {
            let offset = memchr::memmem::find(text.as_bytes().get(start..)?, t.as_bytes())?;
            start += offset;
        }
        if text.is_char_boundary(start)
            && let Some(end) = match_at(segment, text, start)
        {
            return Some(end);
        }
        start += 1;
        while start < text.len() && !text.is_char_boundary(start) {
            start += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern.chars().map(|c| match c {
            '*' => GlobPart::Star,
            '?' => GlobPart::One,
            _ => GlobPart::Text(Box::leak(c.to_string().into_boxed_str())),
        }))
    }

    #[test]
    fn lower_folds_ascii_and_unicode() {
        assert_eq!(lower("C:\\WINDOWS\\Cmd.EXE"), "c:\\windows\\cmd.exe");
        let every_ascii: String = (0u8..128).map(char::from).collect();
        assert_eq!(lower(&every_ascii), every_ascii.to_ascii_lowercase());
        let mut appended = String::from("Keep");
        push_lower(&mut appended, "@AZ[`az{ 0123456789ABCDEFGHIJ");
        assert_eq!(appended, "Keep@az[`az{ 0123456789abcdefghij");
        assert_eq!(lower("ÄÖÜ Straße"), "äöü straße");
        assert_eq!(lower("İ"), "i\u{307}");
    }

    #[test]
    fn glob_semantics() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything", true),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aéc", true),
            ("a*c", "ac", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbcd", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b*", "xxbxxaxx", false),
            ("*ab", "aab", true),
            ("*ab", "abab", true),
            ("*ab", "aba", false),
            ("a*b*a", "aba", true),
            ("a*b*a", "ab", false),
            ("*?", "", false),
            ("*?", "x", true),
            ("??", "é1", true),
            ("*\\temp\\*.exe", "c:\\temp\\x\\y.exe", true),
            ("*\\temp\\*.exe", "c:\\temp\\x\\y.exe.txt", false),
            ("*a?c*", "xxabxabcx", true),
        ];
        for &(pattern, text, expected) in cases {
            assert_eq!(
                glob(pattern).matches(text),
                expected,
                "{pattern:?} vs {text:?}"
            );
        }
    }

    #[test]
    fn longest_text_is_a_required_substring() {
        assert_eq!(
            Glob::new([
                GlobPart::Star,
                GlobPart::Text("ab"),
                GlobPart::Star,
                GlobPart::Text("cdef"),
                GlobPart::One
            ])
            .longest_text(),
            Some("cdef")
        );
        assert_eq!(Glob::new([GlobPart::Star]).longest_text(), None);
    }
}
