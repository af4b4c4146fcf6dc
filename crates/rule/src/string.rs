//! Sigma strings: text with wildcards and placeholders, parsed once with the spec's escaping.
//!
//! In a rule, `*` matches any run of characters, `?` exactly one; `\*`, `\?` and `\\` are the
//! literal characters; a backslash before any other character, or at the end, is a literal
//! backslash (so `C:\Windows\*` is the folder followed by a wildcard). Keeping the wildcards as
//! separate parts means no later stage ever has to guess whether a `*` is literal.

use std::fmt;

/// One piece of a [`SigmaString`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Part {
    /// Literal text (never empty; adjacent texts are merged).
    Text(String),
    /// `*`: zero or more characters.
    AnyChars,
    /// `?`: exactly one character.
    OneChar,
    /// `%name%` from the `expand` modifier, resolved later by a pipeline.
    Placeholder(String),
}

/// A string value with wildcards, as the Sigma specification defines it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SigmaString {
    parts: Vec<Part>,
}

impl SigmaString {
    /// Parses a rule value with Sigma's wildcard escaping (no placeholders).
    pub fn parse(raw: &str) -> SigmaString {
        let mut out = SigmaString::default();
        let mut rest = raw;
        // Text between special characters is copied a run at a time.
        while let Some(at) = rest.find(['\\', '*', '?']) {
            out.push_text(&rest[..at]);
            let special = rest.as_bytes()[at];
            rest = &rest[at + 1..];
            match special {
                b'\\' => match rest.as_bytes().first() {
                    Some(b'*' | b'?' | b'\\') => {
                        out.push_text(&rest[..1]);
                        rest = &rest[1..];
                    }
                    // A backslash before anything else, or at the end, is itself.
                    _ => out.push_text("\\"),
                },
                b'*' => out.parts.push(Part::AnyChars),
                _ => out.parts.push(Part::OneChar),
            }
        }
        out.push_text(rest);
        out
    }

    /// A string of literal text: no character is special.
    pub fn literal(text: impl Into<String>) -> SigmaString {
        let text = text.into();
        let parts = if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Text(text)]
        };
        SigmaString { parts }
    }

    pub fn from_parts(parts: impl IntoIterator<Item = Part>) -> SigmaString {
        let mut out = SigmaString::default();
        for part in parts {
            out.push(part);
        }
        out
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Appends a part, keeping texts merged and never storing empty text.
    pub fn push(&mut self, part: Part) {
        match part {
            Part::Text(text) if text.is_empty() => {}
            Part::Text(text) => match self.parts.last_mut() {
                Some(Part::Text(last)) => last.push_str(&text),
                _ => self.parts.push(Part::Text(text)),
            },
            other => self.parts.push(other),
        }
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some(Part::Text(last)) => last.push_str(text),
            _ => self.parts.push(Part::Text(text.to_owned())),
        }
    }

    /// Whether the string holds `*` or `?`.
    pub fn has_wildcards(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::AnyChars | Part::OneChar))
    }

    pub fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Placeholder(_)))
    }

    /// The text when the string is plain (no wildcards, no placeholders).
    pub fn as_plain(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(text)] => Some(text),
            _ => None,
        }
    }

    pub fn starts_with_any(&self) -> bool {
        matches!(self.parts.first(), Some(Part::AnyChars))
    }

    pub fn ends_with_any(&self) -> bool {
        matches!(self.parts.last(), Some(Part::AnyChars))
    }

    /// `*` in front unless already there (the `endswith` modifier).
    pub fn prepend_any(&mut self) {
        if !self.starts_with_any() {
            self.parts.insert(0, Part::AnyChars);
        }
    }

    /// `*` at the end unless already there (the `startswith` modifier).
    pub fn append_any(&mut self) {
        if !self.ends_with_any() {
            self.parts.push(Part::AnyChars);
        }
    }

    /// The literal text only, wildcards and placeholders dropped (for messages and checks).
    pub fn text_content(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Turns `%name%` in the text parts into placeholders (the `expand` modifier). `\%` is a
    /// literal `%`. Names are word characters, as in pySigma.
    pub fn expand_placeholders(self) -> SigmaString {
        let mut out = SigmaString::default();
        for part in self.parts {
            let Part::Text(text) = part else {
                out.push(part);
                continue;
            };
            let mut literal = String::new();
            let mut rest = text.as_str();
            while let Some(i) = rest.find(['%', '\\']) {
                literal.push_str(&rest[..i]);
                let tail = &rest[i..];
                if let Some(after) = tail.strip_prefix("\\%") {
                    literal.push('%');
                    rest = after;
                } else if let Some(after) = tail.strip_prefix('\\') {
                    literal.push('\\');
                    rest = after;
                } else {
                    let after = &tail[1..];
                    let name_len = after
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    if name_len > 0 && after[name_len..].starts_with('%') {
                        out.push(Part::Text(std::mem::take(&mut literal)));
                        out.push(Part::Placeholder(after[..name_len].to_string()));
                        rest = &after[name_len + 1..];
                    } else {
                        literal.push('%');
                        rest = after;
                    }
                }
            }
            literal.push_str(rest);
            out.push(Part::Text(literal));
        }
        out
    }

    /// Applies `f` to every text part, keeping wildcards and placeholders (encoding modifiers).
    pub fn map_text(&self, mut f: impl FnMut(&str) -> String) -> SigmaString {
        SigmaString::from_parts(self.parts.iter().map(|p| match p {
            Part::Text(t) => Part::Text(f(t)),
            other => other.clone(),
        }))
    }

    /// The `windash` expansion: every `-` or `/` that starts a word after a non-word character
    /// (the regex `\B[-/]\b`, applied to each text part) becomes each of `-`, `/`, `–`, `—`,
    /// `―`, in every combination, in pySigma's order. `None` when the string has more than
    /// [`MAX_WINDASH_SLOTS`] such dashes (the combinations would explode).
    pub fn windash_variants(&self) -> Option<Vec<SigmaString>> {
        const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
        // Split every text part at the dash positions, remembering which chars are dash slots.
        let mut slots = 0usize;
        let mut pieces: Vec<Piece> = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => {
                    let chars: Vec<char> = text.chars().collect();
                    let mut current = String::new();
                    for (i, &c) in chars.iter().enumerate() {
                        let before_is_word = i > 0 && is_word_char(chars[i - 1]);
                        let after_is_word = chars.get(i + 1).is_some_and(|&n| is_word_char(n));
                        if (c == '-' || c == '/') && !before_is_word && after_is_word {
                            if !current.is_empty() {
                                pieces.push(Piece::Fixed(Part::Text(std::mem::take(&mut current))));
                            }
                            pieces.push(Piece::Dash);
                            slots += 1;
                        } else {
                            current.push(c);
                        }
                    }
                    if !current.is_empty() {
                        pieces.push(Piece::Fixed(Part::Text(current)));
                    }
                }
                other => pieces.push(Piece::Fixed(other.clone())),
            }
        }
        if slots == 0 {
            return Some(vec![self.clone()]);
        }
        if slots > MAX_WINDASH_SLOTS {
            return None;
        }
        // Odometer over the slots, the last slot turning fastest.
        let total = DASHES.len().pow(slots as u32);
        let mut variants = Vec::with_capacity(total);
        let mut choice = vec![0usize; slots];
        loop {
            let mut out = SigmaString::default();
            let mut slot = 0;
            for piece in &pieces {
                match piece {
                    Piece::Fixed(part) => out.push(part.clone()),
                    Piece::Dash => {
                        out.push(Part::Text(DASHES[choice[slot]].to_string()));
                        slot += 1;
                    }
                }
            }
            variants.push(out);
            // Advance the odometer.
            let mut i = slots;
            loop {
                if i == 0 {
                    return Some(variants);
                }
                i -= 1;
                choice[i] += 1;
                if choice[i] < DASHES.len() {
                    break;
                }
                choice[i] = 0;
            }
        }
    }

    /// The string in Sigma rule syntax, escaped so that [`SigmaString::parse`] gives it back.
    pub fn to_sigma(&self) -> String {
        let mut out = String::new();
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                Part::AnyChars => out.push('*'),
                Part::OneChar => out.push('?'),
                Part::Placeholder(name) => {
                    out.push('%');
                    out.push_str(name);
                    out.push('%');
                }
                Part::Text(text) => {
                    let next_is_special = matches!(
                        self.parts.get(index + 1),
                        Some(Part::AnyChars | Part::OneChar)
                    );
                    let mut chars = text.chars().peekable();
                    while let Some(c) = chars.next() {
                        match c {
                            '*' | '?' => {
                                out.push('\\');
                                out.push(c);
                            }
                            '\\' => {
                                let escape = match chars.peek() {
                                    Some('*' | '?' | '\\') => true,
                                    Some(_) => false,
                                    None => next_is_special,
                                };
                                out.push_str(if escape { "\\\\" } else { "\\" });
                            }
                            _ => out.push(c),
                        }
                    }
                }
            }
        }
        out
    }
}

/// Most word-initial dashes `windash` expands (5^6 = 15,625 variants).
pub const MAX_WINDASH_SLOTS: usize = 6;

enum Piece {
    Fixed(Part),
    Dash,
}

/// Python's `\w` for `str` patterns: Unicode letters, digits and underscore.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl fmt::Display for SigmaString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sigma())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Part::*;

    /// The escaping rules one character at a time, as the specification states them.
    fn parse_char_by_char(raw: &str) -> Vec<Part> {
        let mut parts: Vec<Part> = Vec::new();
        let push_char = |parts: &mut Vec<Part>, c: char| match parts.last_mut() {
            Some(Text(last)) => last.push(c),
            _ => parts.push(Text(c.to_string())),
        };
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        push_char(&mut parts, next);
                    }
                    _ => push_char(&mut parts, '\\'),
                },
                '*' => parts.push(AnyChars),
                '?' => parts.push(OneChar),
                _ => push_char(&mut parts, c),
            }
        }
        parts
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_the_rules_applied_char_by_char(raw in "[a\\\\*?é\\-]{0,12}") {
            let parsed = SigmaString::parse(&raw);
            let expected = parse_char_by_char(&raw);
            proptest::prop_assert_eq!(parsed.parts(), expected.as_slice());
        }
    }

    fn text(s: &str) -> Part {
        Text(s.to_string())
    }

    #[test]
    fn wildcards_and_plain_text() {
        assert_eq!(
            SigmaString::parse("*\\cmd.exe").parts(),
            &[AnyChars, text("\\cmd.exe")]
        );
        assert_eq!(
            SigmaString::parse("a?b*").parts(),
            &[text("a"), OneChar, text("b"), AnyChars]
        );
        assert_eq!(SigmaString::parse("").parts(), &[]);
    }

    #[test]
    fn escaping_follows_the_spec_table() {
        // \* and \? are literal wildcards characters.
        assert_eq!(SigmaString::parse("a\\*b").parts(), &[text("a*b")]);
        assert_eq!(SigmaString::parse("a\\?").parts(), &[text("a?")]);
        // \\ is one backslash: before a wildcard it leaves the wildcard active.
        assert_eq!(
            SigmaString::parse("C:\\\\*").parts(),
            &[text("C:\\"), AnyChars]
        );
        // \\\* is a backslash and a literal star.
        assert_eq!(SigmaString::parse("a\\\\\\*").parts(), &[text("a\\*")]);
        // A backslash before another character is literal, as is a trailing one.
        assert_eq!(
            SigmaString::parse("C:\\Windows\\").parts(),
            &[text("C:\\Windows\\")]
        );
        // Four backslashes are two; three not before a wildcard are two as well.
        assert_eq!(SigmaString::parse("\\\\\\\\").parts(), &[text("\\\\")]);
        assert_eq!(SigmaString::parse("\\\\\\x").parts(), &[text("\\\\x")]);
    }

    #[test]
    fn trailing_backslash_before_modifier_wildcard_stays_literal() {
        let mut s = SigmaString::parse("C:\\Windows\\");
        s.append_any();
        assert_eq!(s.parts(), &[text("C:\\Windows\\"), AnyChars]);
        // Printed back, the backslash must be doubled or it would escape the star.
        assert_eq!(s.to_sigma(), "C:\\Windows\\\\*");
        assert_eq!(SigmaString::parse(&s.to_sigma()), s);
    }

    #[test]
    fn modifiers_add_wildcards_once() {
        let mut s = SigmaString::parse("*x*");
        s.prepend_any();
        s.append_any();
        assert_eq!(s.parts(), &[AnyChars, text("x"), AnyChars]);
        let mut s = SigmaString::parse("x");
        s.prepend_any();
        assert_eq!(s.parts(), &[AnyChars, text("x")]);
    }

    #[test]
    fn to_sigma_round_trips() {
        for raw in [
            "C:\\Windows\\System32\\*.exe",
            "a\\*b\\?c",
            "\\\\server\\share",
            "trailing\\",
            "x\\\\*",
            "%x%",
            "ab?c*",
        ] {
            let parsed = SigmaString::parse(raw);
            assert_eq!(SigmaString::parse(&parsed.to_sigma()), parsed, "{raw}");
        }
        assert_eq!(
            SigmaString::parse("C:\\Windows\\*").to_sigma(),
            "C:\\Windows\\*"
        );
    }

    #[test]
    fn placeholders_only_with_expand() {
        let plain = SigmaString::parse("%Admins%");
        assert_eq!(plain.parts(), &[text("%Admins%")]);
        let expanded = plain.expand_placeholders();
        assert_eq!(expanded.parts(), &[Placeholder("Admins".into())]);
        let mixed = SigmaString::parse("\\%plain%name%*").expand_placeholders();
        assert_eq!(
            mixed.parts(),
            &[text("%plain"), Placeholder("name".into()), AnyChars]
        );
        // A lone percent sign stays text.
        assert_eq!(
            SigmaString::parse("100%").expand_placeholders().parts(),
            &[text("100%")]
        );
    }

    #[test]
    fn windash_expands_word_initial_dashes() {
        let variants = SigmaString::parse(" /enc ").windash_variants().unwrap();
        let texts: Vec<String> = variants.iter().map(|v| v.text_content()).collect();
        assert_eq!(
            texts,
            [
                " -enc ",
                " /enc ",
                " \u{2013}enc ",
                " \u{2014}enc ",
                " \u{2015}enc "
            ]
        );
        // A dash inside a word is left alone.
        assert_eq!(
            SigmaString::parse("a-b").windash_variants().unwrap().len(),
            1
        );
        // Two slots give every combination.
        let both = SigmaString::parse("-a /b").windash_variants().unwrap();
        assert_eq!(both.len(), 25);
        assert_eq!(both[0].text_content(), "-a -b");
        assert_eq!(both[1].text_content(), "-a /b");
        assert_eq!(both[5].text_content(), "/a -b");
        // A dash at the start of a text part after a wildcard counts as word-initial.
        assert_eq!(
            SigmaString::parse("*-x").windash_variants().unwrap().len(),
            5
        );
        // Too many slots are refused rather than expanded.
        assert!(
            SigmaString::parse("-a -b -c -d -e -f -g")
                .windash_variants()
                .is_none()
        );
    }
}
