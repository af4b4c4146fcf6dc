//! The meaning of one rule value against one field: the single place where Sigma's value
//! semantics live. The fast path (after its automata have answered the literal atoms) and the
//! `explain` slow path both end up here, so they cannot disagree.

use crate::event::{FieldValue, ValueKind};
use crate::text::Glob;
use ipnet::IpNet;
use sigrun_rule::Number;
use sigrun_rule::modifier::{CompareOp, TimePart};
use sigrun_rule::value::{FieldRefMatch, RegexFlags};
use std::net::IpAddr;

/// Where a literal must sit in the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Anchor {
    Equals,
    Prefix,
    Suffix,
    Contains,
}

/// A number reduced to a key such that two numbers are equal exactly when their keys are:
/// integral floats become integers, so `4688`, `4688.0` and `4.688e3` agree.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum NumKey {
    Int(i64),
    Float(u64),
}

impl NumKey {
    pub fn of(number: Number) -> NumKey {
        match number {
            Number::Int(i) => NumKey::Int(i),
            Number::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    NumKey::Int(f as i64)
                } else {
                    NumKey::Float(f.to_bits())
                }
            }
        }
    }

    /// The key of a value's text, when it is a number.
    pub fn parse(text: &str) -> Option<NumKey> {
        Number::parse(text).map(NumKey::of)
    }
}

/// Plain text with wildcards only at its ends, compiled for searching.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Literal {
    pub anchor: Anchor,
    /// Lower-cased unless `cased`.
    pub text: Box<str>,
    pub cased: bool,
    /// The substring searcher, built on first use (most literals are answered by the
    /// field scans and never need one).
    #[serde(skip)]
    finder: std::sync::OnceLock<Box<memchr::memmem::Finder<'static>>>,
}

impl Literal {
    pub fn new(anchor: Anchor, text: &str, cased: bool) -> Literal {
        Literal {
            anchor,
            text: text.into(),
            cased,
            finder: std::sync::OnceLock::new(),
        }
    }

    #[inline]
    pub fn holds(&self, hay: &str) -> bool {
        if self.anchor == Anchor::Contains {
            let finder = self.finder.get_or_init(|| {
                Box::new(memchr::memmem::Finder::new(self.text.as_bytes()).into_owned())
            });
            finder.find(hay.as_bytes()).is_some()
        } else {
            literal_holds(self.anchor, hay, &self.text)
        }
    }
}

/// A regex that is checked when the rule set is compiled but built on first use: building
/// the regex engine costs far more than parsing, and most rules' regexes never run (their
/// literal hints do not occur). Perl classes (`\w`, `\d`, `\s`) are ASCII, as in PCRE and RE2
/// (see [`crate::regex_flavor`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct LazyRegex {
    pattern: String,
    flags: RegexFlags,
    /// `None` when the build failed (only a size limit can make a parsed pattern fail).
    #[serde(skip)]
    regex: std::sync::OnceLock<Option<regex::Regex>>,
}

impl LazyRegex {
    /// A regex whose pattern has been parsed successfully with these flags.
    pub fn new(pattern: &str, flags: RegexFlags) -> LazyRegex {
        LazyRegex {
            pattern: crate::regex_flavor::ascii_perl_classes(pattern).into_owned(),
            flags,
            regex: std::sync::OnceLock::new(),
        }
    }

    /// Builds the regex now (the compiler does it for tests that want the build error).
    pub fn build(&self) -> Result<&regex::Regex, regex::Error> {
        if let Some(Some(regex)) = self.regex.get() {
            return Ok(regex);
        }
        let built = regex::RegexBuilder::new(&self.pattern)
            .case_insensitive(self.flags.ignore_case)
            .multi_line(self.flags.multi_line)
            .dot_matches_new_line(self.flags.dot_all)
            .build();
        match built {
            Ok(regex) => Ok(self
                .regex
                .get_or_init(|| Some(regex))
                .as_ref()
                .unwrap_or_else(|| unreachable!("initialised with a regex"))),
            Err(error) => {
                let _ = self.regex.set(None);
                Err(error)
            }
        }
    }

    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        match self.regex.get() {
            Some(Some(regex)) => regex.is_match(text),
            Some(None) => false,
            None => self.build().is_ok_and(|regex| regex.is_match(text)),
        }
    }
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex::new(&self.pattern, self.flags)
    }
}

/// A compiled rule value, ready to test field values.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Matcher {
    /// Plain text with its wildcards only at the ends.
    Literal(Literal),
    /// Any other wildcard pattern; lower-cased unless `cased`.
    Glob {
        glob: Glob,
        cased: bool,
    },
    /// Unanchored search, with the rule's flags; compiled on first use.
    Regex(Box<LazyRegex>),
    /// Equal numerically, or as text (case-insensitive) to the number as written.
    Number {
        key: NumKey,
        raw_lower: Box<str>,
    },
    /// `true`/`false` as the value's text, ignoring case.
    Bool(bool),
    /// The field is absent, JSON null or empty.
    Null,
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    Compare {
        op: CompareOp,
        value: f64,
    },
    TimePart {
        part: TimePart,
        value: i64,
    },
    Cidr(IpNet),
    /// Compared with the values of another field (index into the engine's fields; `None`
    /// when the pipeline says the source never carries it).
    FieldRef {
        other: Option<u32>,
        position: FieldRefMatch,
    },
}

impl Matcher {
    /// The result when the field is absent (or unavailable in the source).
    pub fn when_absent(&self) -> bool {
        matches!(self, Matcher::Null | Matcher::Exists(false))
    }

    /// Whether [`Matcher::test_value`] reads the lower-cased text.
    pub fn needs_lower(&self) -> bool {
        matches!(
            self,
            Matcher::Literal(Literal { cased: false, .. }) | Matcher::Glob { cased: false, .. }
        )
    }

    /// Whether one value of a present field satisfies the matcher; the field matches when
    /// any of its values does. `lower` is the value's lower-cased text when
    /// [`Matcher::needs_lower`] (otherwise it may be empty). Field references are evaluated
    /// by the caller with [`fieldref_holds`] and are never true here.
    pub fn test_value(&self, value: FieldValue<'_>, lower: &str) -> bool {
        if value.kind == ValueKind::Null {
            return matches!(self, Matcher::Null | Matcher::Exists(true));
        }
        match self {
            Matcher::Literal(literal) => {
                literal.holds(if literal.cased { value.text } else { lower })
            }
            Matcher::Glob { glob, cased } => glob.matches(if *cased { value.text } else { lower }),
            Matcher::Regex(regex) => regex.is_match(value.text),
            Matcher::Number { key, raw_lower } => {
                // A number as written is ASCII, so ASCII case folding is the full folding.
                value.text.eq_ignore_ascii_case(raw_lower)
                    || NumKey::parse(value.text) == Some(*key)
            }
            Matcher::Bool(b) => {
                value
                    .text
                    .trim()
                    .eq_ignore_ascii_case(if *b { "true" } else { "false" })
            }
            Matcher::Null => value.text.is_empty(),
            Matcher::Exists(b) => *b,
            Matcher::Compare { op, value: right } => {
                Number::parse(value.text).is_some_and(|left| op.holds(left.as_f64(), *right))
            }
            Matcher::TimePart {
                part,
                value: expected,
            } => time_part(value.text, *part) == Some(*expected),
            Matcher::Cidr(net) => parse_ip(value.text).is_some_and(|ip| cidr_contains(net, ip)),
            Matcher::FieldRef { .. } => false,
        }
    }
}

#[inline]
pub fn literal_holds(anchor: Anchor, hay: &str, needle: &str) -> bool {
    match anchor {
        Anchor::Equals => hay == needle,
        Anchor::Prefix => hay.starts_with(needle),
        Anchor::Suffix => hay.ends_with(needle),
        Anchor::Contains => memchr::memmem::find(hay.as_bytes(), needle.as_bytes()).is_some(),
    }
}

/// `fieldref`: whether a value (lower-cased) stands in `position` to the referenced field's
/// value (lower-cased). Comparison ignores case, like every Sigma string comparison.
pub fn fieldref_holds(position: FieldRefMatch, value_lower: &str, other_lower: &str) -> bool {
    let anchor = match position {
        FieldRefMatch::Equals => Anchor::Equals,
        FieldRefMatch::StartsWith => Anchor::Prefix,
        FieldRefMatch::EndsWith => Anchor::Suffix,
        FieldRefMatch::Contains => Anchor::Contains,
    };
    literal_holds(anchor, value_lower, other_lower)
}

/// An IP address as Windows logs write it: plain, or IPv4-mapped IPv6 (`::ffff:10.1.2.3`),
/// which is read as the IPv4 address so that IPv4 networks match it.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let ip: IpAddr = text.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    })
}

fn cidr_contains(net: &IpNet, ip: IpAddr) -> bool {
    net.contains(&ip)
}

/// One part of a timestamp written `YYYY-MM-DD[T| ]HH:MM[:SS[.fff]][zone]`, read as written
/// (no time-zone conversion, as the Sigma 2.1 time modifiers specify). Weeks are ISO weeks.
pub fn time_part(text: &str, part: TimePart) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits
            .iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let date = jiff::civil::Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let clock = || -> Option<(i64, i64)> {
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
            return None;
        }
        let (hour, minute) = (num(11..13)?, num(14..16)?);
        (hour < 24 && minute < 60).then_some((hour, minute))
    };
    match part {
        TimePart::Year => Some(year),
        TimePart::Month => Some(month),
        TimePart::Day => Some(day),
        TimePart::Week => Some(i64::from(date.iso_week_date().week())),
        TimePart::Hour => clock().map(|(h, _)| h),
        TimePart::Minute => clock().map(|(_, m)| m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> FieldValue<'_> {
        FieldValue::string(text)
    }

    fn test(m: &Matcher, text: &str) -> bool {
        m.test_value(s(text), &crate::text::lower(text))
    }

    #[test]
    fn literals_by_anchor() {
        let lit = |anchor, text: &str| Matcher::Literal(Literal::new(anchor, text, false));
        assert!(test(&lit(Anchor::Equals, "cmd.exe"), "CMD.exe"));
        assert!(!test(&lit(Anchor::Equals, "cmd.exe"), "xcmd.exe"));
        assert!(test(&lit(Anchor::Prefix, "c:\\"), "C:\\x"));
        assert!(!test(&lit(Anchor::Prefix, "c:\\"), "d:\\c:\\"));
        assert!(test(
            &lit(Anchor::Suffix, "\\cmd.exe"),
            "C:\\Windows\\CMD.EXE"
        ));
        assert!(!test(&lit(Anchor::Suffix, "\\cmd.exe"), "cmd.exe"));
        assert!(test(&lit(Anchor::Contains, "mimi"), "xxMIMIxx"));
        let cased = Matcher::Literal(Literal::new(Anchor::Contains, "Mimi", true));
        assert!(test(&cased, "xMimix"));
        assert!(!test(&cased, "xmimix"));
    }

    #[test]
    fn numbers_match_numerically_or_textually() {
        let m = Matcher::Number {
            key: NumKey::of(Number::Int(4688)),
            raw_lower: "4688".into(),
        };
        assert!(m.test_value(FieldValue::new(ValueKind::Number, "4688"), ""));
        assert!(test(&m, "4688"));
        assert!(test(&m, " 4688 "));
        assert!(test(&m, "4688.0"));
        assert!(!test(&m, "46880"));
        assert!(!test(&m, "0x1250"));
        let hex = Matcher::Number {
            key: NumKey::of(Number::Int(16)),
            raw_lower: "0x10".into(),
        };
        assert!(test(&hex, "0X10"), "the number as written, ignoring case");
        assert!(test(&hex, "16"));
    }

    #[test]
    fn null_values_only_match_null_and_exists() {
        let null = FieldValue::new(ValueKind::Null, "");
        assert!(Matcher::Null.test_value(null, ""));
        assert!(Matcher::Exists(true).test_value(null, ""));
        assert!(!Matcher::Exists(false).test_value(null, ""));
        let empty = Matcher::Literal(Literal::new(Anchor::Equals, "", false));
        assert!(!empty.test_value(null, ""));
        assert!(test(&empty, ""));
        assert!(test(&Matcher::Null, ""));
        assert!(!test(&Matcher::Null, "x"));
        assert!(Matcher::Null.when_absent());
        assert!(Matcher::Exists(false).when_absent());
        assert!(!Matcher::Exists(true).when_absent());
        assert!(!empty.when_absent());
    }

    #[test]
    fn compare_bool_cidr() {
        let gt = Matcher::Compare {
            op: CompareOp::Gt,
            value: 5.0,
        };
        assert!(test(&gt, "6"));
        assert!(test(&gt, "5.5"));
        assert!(!test(&gt, "5"));
        assert!(!test(&gt, "abc"));
        assert!(test(&Matcher::Bool(true), "True"));
        assert!(!test(&Matcher::Bool(true), "false"));
        let v4 = Matcher::Cidr("10.0.0.0/8".parse().unwrap());
        assert!(test(&v4, "10.1.2.3"));
        assert!(test(&v4, "::ffff:10.1.2.3"));
        assert!(!test(&v4, "11.1.2.3"));
        assert!(!test(&v4, "not an ip"));
        let v6 = Matcher::Cidr("fe80::/10".parse().unwrap());
        assert!(test(&v6, "fe80::1"));
        assert!(!test(&v6, "10.1.2.3"));
    }

    #[test]
    fn time_parts_of_both_timestamp_styles() {
        let sysmon = "2026-04-17 05:24:53.079";
        let system = "2026-04-17T05:24:53.088849Z";
        for t in [sysmon, system] {
            assert_eq!(time_part(t, TimePart::Year), Some(2026));
            assert_eq!(time_part(t, TimePart::Month), Some(4));
            assert_eq!(time_part(t, TimePart::Day), Some(17));
            assert_eq!(time_part(t, TimePart::Hour), Some(5));
            assert_eq!(time_part(t, TimePart::Minute), Some(24));
            assert_eq!(time_part(t, TimePart::Week), Some(16));
        }
        assert_eq!(time_part("2021-01-03", TimePart::Week), Some(53));
        assert_eq!(time_part("2021-01-03", TimePart::Hour), None);
        assert_eq!(time_part("2021-02-30 00:00", TimePart::Day), None);
        assert_eq!(time_part("yesterday", TimePart::Year), None);
    }
}
