//! Detection values after their modifiers are applied: what a rule compares a field with.

use crate::modifier::{CompareOp, TimePart};
use crate::string::SigmaString;
use ipnet::IpNet;
use std::fmt;

/// A number as written in a rule.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// Parses an integer or decimal written as text (`"4688"`, `"-1.5"`).
    pub fn parse(text: &str) -> Option<Number> {
        let text = text.trim();
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::Float)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// Flags of a `re` value.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct RegexFlags {
    pub ignore_case: bool,
    pub multi_line: bool,
    pub dot_all: bool,
}

impl RegexFlags {
    /// The flags as PCRE letters in `ims` order (`"is"`), empty when none is set.
    pub fn letters(&self) -> String {
        [
            (self.ignore_case, 'i'),
            (self.multi_line, 'm'),
            (self.dot_all, 's'),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, letter)| letter)
        .collect()
    }
}

/// Where a `fieldref` value must appear in the field it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FieldRefMatch {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

/// One value of a detection item, with its modifiers applied.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MatchValue {
    /// Wildcard string match; case-insensitive unless `cased`.
    String {
        value: SigmaString,
        cased: bool,
    },
    /// A regular expression, searched for anywhere in the field (unanchored), case-sensitive
    /// unless the `i` flag is set.
    Regex {
        pattern: String,
        flags: RegexFlags,
    },
    /// A plain number: equal to the field's numeric value (or its text, for string fields).
    Number {
        value: Number,
        raw: String,
    },
    Bool(bool),
    /// `null`: the field is absent or empty.
    Null,
    Compare {
        op: CompareOp,
        value: Number,
    },
    /// A time modifier: the given part of the field's timestamp equals `value`.
    TimePart {
        part: TimePart,
        value: i64,
    },
    Cidr(IpNet),
    /// `exists`: the field is present (`true`) or absent (`false`).
    Exists(bool),
    /// `fieldref`: compare with the value of another field of the same event.
    FieldRef {
        field: String,
        position: FieldRefMatch,
    },
    /// Several alternatives of one written value (`windash`, `base64offset`); any may match.
    AnyOf(Vec<MatchValue>),
}

impl MatchValue {
    /// A short human description, for explanations and messages.
    pub fn describe(&self) -> String {
        match self {
            MatchValue::String { value, cased } => {
                format!(
                    "'{}'{}",
                    value.to_sigma(),
                    if *cased { " (cased)" } else { "" }
                )
            }
            MatchValue::Regex { pattern, flags } => format!("/{pattern}/{}", flags.letters()),
            MatchValue::Number { raw, .. } => raw.clone(),
            MatchValue::Bool(b) => b.to_string(),
            MatchValue::Null => "null".into(),
            MatchValue::Compare { op, value } => format!("{} {value}", op.symbol()),
            MatchValue::TimePart { part, value } => format!("{} = {value}", part.name()),
            MatchValue::Cidr(net) => format!("in {net}"),
            MatchValue::Exists(true) => "exists".into(),
            MatchValue::Exists(false) => "does not exist".into(),
            MatchValue::FieldRef { field, position } => {
                let how = match position {
                    FieldRefMatch::Equals => "equals",
                    FieldRefMatch::StartsWith => "starts with",
                    FieldRefMatch::EndsWith => "ends with",
                    FieldRefMatch::Contains => "contains",
                };
                format!("{how} field {field}")
            }
            MatchValue::AnyOf(values) => {
                let inner: Vec<String> = values.iter().map(MatchValue::describe).collect();
                format!("any of [{}]", inner.join(", "))
            }
        }
    }

    /// Calls `f` on every leaf value (expanding `AnyOf`).
    pub fn for_each_leaf<'a>(&'a self, f: &mut impl FnMut(&'a MatchValue)) {
        match self {
            MatchValue::AnyOf(values) => values.iter().for_each(|v| v.for_each_leaf(f)),
            other => f(other),
        }
    }
}

#[cfg(test)]
mod flag_tests {
    use super::RegexFlags;

    #[test]
    fn regex_flags_are_letters_in_ims_order() {
        let flags = |ignore_case, multi_line, dot_all| RegexFlags {
            ignore_case,
            multi_line,
            dot_all,
        };
        assert_eq!(flags(false, false, false).letters(), "");
        assert_eq!(flags(true, false, false).letters(), "i");
        assert_eq!(flags(false, true, true).letters(), "ms");
        assert_eq!(flags(true, true, true).letters(), "ims");
    }
}
