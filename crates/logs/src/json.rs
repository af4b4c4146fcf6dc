//! The JSON lexer the flatteners are built on: scalars are unescaped straight into the event's
//! text buffer, so an event is parsed and flattened in one pass with no allocation of its own.
//!
//! A hand-written lexer rather than serde_json because the readers need three things serde's
//! API does not give: the byte offset of every error (to point at the bad line and to resume
//! after it), strings decoded into a buffer that outlives the parser (serde_json's scratch
//! buffer is per deserializer, so per event), and "ran out of input" told apart from "invalid"
//! (a streaming reader then reads more). The grammar is RFC 8259's; the tests check it against
//! serde_json on arbitrary input.

/// Why a JSON event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The text is not JSON at this point.
    #[error("invalid JSON: {0}")]
    Syntax(&'static str),
    /// A string holds bytes that are not UTF-8.
    #[error("invalid UTF-8 in a JSON string")]
    InvalidUtf8,
    /// The text ends inside the event.
    #[error("the text ends inside a JSON event")]
    Truncated,
    /// Objects and arrays nest deeper than the reader follows.
    #[error("JSON nested deeper than {limit} levels")]
    TooDeep {
        /// The deepest nesting read.
        limit: usize,
    },
    /// The flattened event would be far larger than its JSON text (a pathological document
    /// with long names repeated for many values).
    #[error("the flattened event is too large")]
    FlattenedTooLarge,
    /// A new event starts at the beginning of a line while this one is still open: the
    /// previous line was cut off.
    #[error("a new event starts before this one ends (truncated line)")]
    LineCutOff,
}

/// A failure at a byte position of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) error: JsonError,
    pub(crate) pos: usize,
}

impl Fail {
    pub(crate) fn at(pos: usize, error: JsonError) -> Self {
        Fail { error, pos }
    }

    /// Whether the input ended before the value did (a streaming reader then reads more).
    pub(crate) fn is_eof(&self) -> bool {
        self.error == JsonError::Truncated
    }
}

pub(crate) type Result<T> = std::result::Result<T, Fail>;

/// Objects and arrays nest at most this deep.
pub(crate) const MAX_DEPTH: usize = 128;

#[inline]
pub(crate) fn is_ws(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The position of the first non-whitespace byte at or after `pos` (`input.len()` if none).
#[inline]
pub(crate) fn skip_ws(input: &str, pos: usize) -> usize {
    skip_ws_bytes(input.as_bytes(), pos)
}

/// [`skip_ws`] over bytes that need not be UTF-8.
#[inline]
pub(crate) fn skip_ws_bytes(input: &[u8], mut pos: usize) -> usize {
    while let Some(&byte) = input.get(pos) {
        if !is_ws(byte) {
            break;
        }
        pos += 1;
    }
    pos
}

/// The byte at `pos`, or a `Truncated` failure.
#[inline]
pub(crate) fn peek(input: &str, pos: usize) -> Result<u8> {
    input
        .as_bytes()
        .get(pos)
        .copied()
        .ok_or(Fail::at(pos, JsonError::Truncated))
}

/// Expect `byte` at `pos` (after whitespace); return the position after it.
#[inline]
pub(crate) fn expect(input: &str, pos: usize, byte: u8, what: &'static str) -> Result<usize> {
    let pos = skip_ws(input, pos);
    if peek(input, pos)? == byte {
        Ok(pos + 1)
    } else {
        Err(Fail::at(pos, JsonError::Syntax(what)))
    }
}

/// Bytes that end a run of plain string bytes: `"`, `\\` and control characters (and so the
/// bytes a JSON string escapes).
pub(crate) static STOPS: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The high bit of each byte of `word` (read little-endian) that is `"`, `\\` or a control
/// character, by bit tricks: a byte `b` is zero exactly when `(b - 1) & !b` has its high bit
/// set, for every byte at once. A borrow can also set the bit of a byte above a stop, never
/// below the first: the lowest bit set is exactly the first stop.
#[inline]
pub(crate) fn stop_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// Appends `text` as a JSON string, quoted and escaped as `serde_json` escapes strings: the
/// quote, the backslash and the C0 controls (`\b \f \n \r \t`, the others as `\u00xx`),
/// everything else as it is. Runs without such bytes are found eight bytes at a time and copied
/// whole.
pub fn write_json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    escape_with(text, out, b"0123456789abcdef");
    out.push(b'"');
}

/// Appends `text` JSON-escaped (without quotes), the controls without a short form as `\u00`
/// and two digits of `hex`.
pub(crate) fn escape_with(text: &str, out: &mut Vec<u8>, hex: &[u8; 16]) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len());
    let mut start = 0;
    while let Some(at) = next_stop(bytes, start) {
        let byte = bytes[at];
        out.extend_from_slice(&bytes[start..at]);
        let escaped: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                hex[usize::from(byte >> 4)],
                hex[usize::from(byte & 0x0f)],
            ],
        };
        out.extend_from_slice(escaped);
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Where the first byte of `bytes` at or after `from` is a [`STOPS`] byte.
#[inline]
pub(crate) fn next_stop(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(word) = bytes.get(at..).and_then(|rest| rest.first_chunk::<8>()) {
        let mask = stop_mask(u64::from_le_bytes(*word));
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&b| STOPS[usize::from(b)])
        .map(|i| at + i)
}

/// Decode the string whose opening quote is at `pos` into `out`; return the position after
/// its closing quote. Lone surrogate escapes become U+FFFD: a log reader keeps the event.
pub(crate) fn string(input: &str, pos: usize, out: &mut String) -> Result<usize> {
    let bytes = input.as_bytes();
    debug_assert_eq!(bytes.get(pos), Some(&b'"'));
    let mut pos = pos + 1;
    loop {
        // Eight bytes at a time (strings of events are mostly short, where this beats a
        // vectorised search).
        let start = pos;
        pos = next_stop(bytes, pos).unwrap_or(bytes.len());
        // The run ends at an ASCII byte or the end, so on character boundaries.
        out.push_str(input.get(start..pos).unwrap_or_default());
        match bytes.get(pos) {
            None => return Err(Fail::at(input.len(), JsonError::Truncated)),
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => pos = escape(bytes, pos, out)?,
            Some(_) => {
                return Err(Fail::at(
                    pos,
                    JsonError::Syntax("control character in a string"),
                ));
            }
        }
    }
}

/// Decode the escape whose backslash is at `pos`; return the position after it.
fn escape(input: &[u8], pos: usize, out: &mut String) -> Result<usize> {
    let code = *input
        .get(pos + 1)
        .ok_or(Fail::at(input.len(), JsonError::Truncated))?;
    let simple = match code {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return unicode_escape(input, pos, out),
        _ => return Err(Fail::at(pos, JsonError::Syntax("invalid escape"))),
    };
    out.push(simple);
    Ok(pos + 2)
}

/// `\uXXXX` at `pos`, with a following low surrogate when it is a high one.
fn unicode_escape(input: &[u8], pos: usize, out: &mut String) -> Result<usize> {
    let first = hex4(input, pos + 2)?;
    let mut end = pos + 6;
    let code = if (0xD800..0xDC00).contains(&first) {
        let low = if input.get(end..end + 2) == Some(b"\\u") {
            Some(hex4(input, end + 2)?)
        } else if input.len() < end + 2 {
            // The low surrogate may be in input not read yet.
            return Err(Fail::at(input.len(), JsonError::Truncated));
        } else {
            None
        };
        match low {
            Some(low @ 0xDC00..0xE000) => {
                end += 6;
                0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
            }
            _ => 0xFFFD,
        }
    } else {
        first
    };
    out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
    Ok(end)
}

fn hex4(input: &[u8], pos: usize) -> Result<u32> {
    let digits = input.get(pos..).unwrap_or_default();
    let mut value = 0;
    for i in 0..4 {
        let digit = *digits
            .get(i)
            .ok_or(Fail::at(input.len(), JsonError::Truncated))?;
        let nibble = (digit as char)
            .to_digit(16)
            .ok_or(Fail::at(pos + i, JsonError::Syntax("invalid \\u escape")))?;
        value = value * 16 + nibble;
    }
    Ok(value)
}

/// The end of the number starting at `pos` (`-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`).
pub(crate) fn number(input: &str, pos: usize) -> Result<usize> {
    let input = input.as_bytes();
    let digits = |mut p: usize| -> Result<usize> {
        let start = p;
        while input.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        if p == start {
            return Err(if p == input.len() {
                Fail::at(p, JsonError::Truncated)
            } else {
                Fail::at(p, JsonError::Syntax("invalid number"))
            });
        }
        Ok(p)
    };
    let mut p = pos;
    if input.get(p) == Some(&b'-') {
        p += 1;
    }
    if input.get(p) == Some(&b'0') {
        p += 1;
    } else {
        p = digits(p)?;
    }
    if input.get(p) == Some(&b'.') {
        p = digits(p + 1)?;
    }
    if matches!(input.get(p), Some(b'e' | b'E')) {
        p += 1;
        if matches!(input.get(p), Some(b'+' | b'-')) {
            p += 1;
        }
        p = digits(p)?;
    }
    // A number that runs to the end of the input may go on in input not read yet.
    if p == input.len() {
        return Err(Fail::at(p, JsonError::Truncated));
    }
    Ok(p)
}

/// The literal `word` at `pos`; return the position after it.
fn literal(input: &str, pos: usize, word: &'static [u8]) -> Result<usize> {
    let input = input.as_bytes();
    let end = pos + word.len();
    match input.get(pos..end) {
        Some(found) if found == word => Ok(end),
        Some(_) => Err(Fail::at(pos, JsonError::Syntax("invalid literal"))),
        None if word.starts_with(&input[pos..]) => Err(Fail::at(input.len(), JsonError::Truncated)),
        None => Err(Fail::at(pos, JsonError::Syntax("invalid literal"))),
    }
}

/// Read the scalar at `pos` (after whitespace) into `out`: `None` when the value there is an
/// object or array (left for the caller), else its kind and the position after it.
pub(crate) fn scalar(
    input: &str,
    pos: usize,
    out: &mut String,
) -> Result<Option<(crate::ValueKind, usize)>> {
    use crate::ValueKind;
    let pos = skip_ws(input, pos);
    let (kind, end) = match peek(input, pos)? {
        b'"' => (ValueKind::String, string(input, pos, out)?),
        b'-' | b'0'..=b'9' => {
            let end = number(input, pos)?;
            // The grammar was checked: the bytes are ASCII.
            out.push_str(input.get(pos..end).unwrap_or_default());
            (ValueKind::Number, end)
        }
        b't' => {
            out.push_str("true");
            (ValueKind::Bool, literal(input, pos, b"true")?)
        }
        b'f' => {
            out.push_str("false");
            (ValueKind::Bool, literal(input, pos, b"false")?)
        }
        b'n' => (ValueKind::Null, literal(input, pos, b"null")?),
        b'{' | b'[' => return Ok(None),
        _ => return Err(Fail::at(pos, JsonError::Syntax("expected a value"))),
    };
    Ok(Some((kind, end)))
}

/// Check and skip the value at `pos` (after whitespace); return the position after it.
/// `scratch` receives decoded strings and is cleared.
pub(crate) fn skip_value(
    input: &str,
    pos: usize,
    depth: usize,
    scratch: &mut String,
) -> Result<usize> {
    scratch.clear();
    let pos = skip_ws(input, pos);
    if let Some((_, end)) = scalar(input, pos, scratch)? {
        return Ok(end);
    }
    if depth >= MAX_DEPTH {
        return Err(Fail::at(pos, JsonError::TooDeep { limit: MAX_DEPTH }));
    }
    let close = if input.as_bytes()[pos] == b'{' {
        b'}'
    } else {
        b']'
    };
    let mut p = skip_ws(input, pos + 1);
    if peek(input, p)? == close {
        return Ok(p + 1);
    }
    loop {
        if close == b'}' {
            p = skip_ws(input, p);
            if peek(input, p)? != b'"' {
                return Err(Fail::at(p, JsonError::Syntax("expected a key")));
            }
            p = string(input, p, scratch)?;
            p = expect(input, p, b':', "expected ':'")?;
        }
        p = skip_value(input, p, depth + 1, scratch)?;
        p = skip_ws(input, p);
        match peek(input, p)? {
            b',' => p += 1,
            b if b == close => return Ok(p + 1),
            _ => {
                return Err(Fail::at(
                    p,
                    JsonError::Syntax("expected ',' or a closing bracket"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<(String, usize)> {
        let mut out = String::new();
        let end = string(text, 0, &mut out)?;
        Ok((out, end))
    }

    #[test]
    fn stop_bytes_are_found_in_words() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = byte;
                let stop = byte < 0x20 || byte == b'"' || byte == b'\\';
                let mask = stop_mask(u64::from_le_bytes(word));
                assert_eq!(mask != 0, stop, "{byte:#x} at {at}");
                if stop {
                    // The lowest bit is the stop's, whatever borrows set above it.
                    assert_eq!(mask.trailing_zeros() / 8, at as u32, "{byte:#x} at {at}");
                    for after in at + 1..8 {
                        let mut two = word;
                        two[after] = 0x20;
                        let mask = stop_mask(u64::from_le_bytes(two));
                        assert_eq!(mask.trailing_zeros() / 8, at as u32, "{byte:#x} at {at}");
                    }
                }
            }
        }
        // Found in and past whole words.
        let text = b"0123456789abcdef\"\\x";
        assert_eq!(next_stop(text, 0), Some(16));
        assert_eq!(next_stop(text, 17), Some(17));
        assert_eq!(next_stop(text, 18), None);
        assert_eq!(next_stop(b"0123456789", 0), None);
    }

    #[test]
    fn strings_are_unescaped() {
        assert_eq!(
            decode(r#""C:\\Windows\\x.exe" tail"#).unwrap(),
            ("C:\\Windows\\x.exe".to_string(), 20)
        );
        assert_eq!(
            decode(r#""a\"b\/\b\f\n\r\t""#).unwrap().0,
            "a\"b/\u{8}\u{c}\n\r\t"
        );
        assert_eq!(decode(r#""\u00e9\ud83d\ude00""#).unwrap().0, "é😀");
        // A lone surrogate becomes U+FFFD instead of failing the event.
        assert_eq!(decode(r#""\ud83dx""#).unwrap().0, "\u{FFFD}x");
        assert_eq!(decode(r#""\ude00""#).unwrap().0, "\u{FFFD}");
    }

    #[test]
    fn string_errors_have_positions() {
        assert_eq!(
            decode("\"ab\ncd\"").unwrap_err(),
            Fail::at(3, JsonError::Syntax("control character in a string"))
        );
        assert_eq!(
            decode(r#""a\qb""#).unwrap_err(),
            Fail::at(2, JsonError::Syntax("invalid escape"))
        );
        assert_eq!(
            decode("\"abc").unwrap_err(),
            Fail::at(4, JsonError::Truncated)
        );
        assert_eq!(decode("\"é😀\" ").unwrap(), ("é😀".to_string(), 8));
        assert_eq!(
            decode(r#""\u12""#).unwrap_err(),
            Fail::at(5, JsonError::Syntax("invalid \\u escape"))
        );
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for ok in ["0,", "-1,", "12.5e+3,", "1E9,", "-0.0,"] {
            assert_eq!(number(ok, 0), Ok(ok.len() - 1), "{ok}");
        }
        for bad in ["-,", "1.,", "1e,", ".5,"] {
            assert!(matches!(
                number(bad, 0),
                Err(Fail {
                    error: JsonError::Syntax(_),
                    ..
                })
            ));
        }
        // "01" is the number 0 followed by a stray 1, which the caller rejects.
        assert_eq!(number("01,", 0), Ok(1));
        assert_eq!(number("12", 0), Err(Fail::at(2, JsonError::Truncated)));
    }

    proptest::proptest! {
        /// JSON strings are written exactly as `serde_json` writes them, on text dense with
        /// bytes to escape, at every position of a word.
        #[test]
        fn json_strings_are_written_as_serde_json_writes_them(
            text in "[a\"\\\\\u{0}-\u{1f}\u{7f}\u{80}-\u{ff}\u{2028}\u{1d11e} /]{0,40}",
        ) {
            let mut out = Vec::new();
            write_json_string(&text, &mut out);
            let expected = serde_json::to_string(&text).expect("a string");
            proptest::prop_assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
        }
    }

    #[test]
    fn skip_value_checks_structure() {
        let mut scratch = String::new();
        let text = r#"{"a": [1, {"b": null}, "x"], "c": true} rest"#;
        assert_eq!(skip_value(text, 0, 0, &mut scratch), Ok(39));
        assert_eq!(
            skip_value(r#"{"a" 1}"#, 0, 0, &mut scratch),
            Err(Fail::at(5, JsonError::Syntax("expected ':'")))
        );
        assert_eq!(
            skip_value("[1, 2", 0, 0, &mut scratch),
            Err(Fail::at(5, JsonError::Truncated))
        );
        let deep = "[".repeat(200);
        assert_eq!(
            skip_value(&deep, 0, 0, &mut scratch),
            Err(Fail::at(128, JsonError::TooDeep { limit: 128 }))
        );
    }
}
