//! The value modifiers of Sigma v2.1.0 (`field|contains|all: ...`).

use std::fmt;

/// A value modifier. Aliases (`wide`, `i`, `ignorecase`, `m`, `multiline`, `s`, `dotall`)
/// parse to the same variant; [`Modifier::name`] gives the canonical spelling.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    IgnoreCase,
    Multiline,
    DotAll,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Lt,
    Lte,
    Gt,
    Gte,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Cidr,
    Expand,
    FieldRef,
}

/// Every accepted spelling, canonical names first.
const SPELLINGS: &[(&str, Modifier)] = &[
    ("contains", Modifier::Contains),
    ("startswith", Modifier::StartsWith),
    ("endswith", Modifier::EndsWith),
    ("all", Modifier::All),
    ("exists", Modifier::Exists),
    ("cased", Modifier::Cased),
    ("neq", Modifier::Neq),
    ("windash", Modifier::Windash),
    ("re", Modifier::Re),
    ("i", Modifier::IgnoreCase),
    ("m", Modifier::Multiline),
    ("s", Modifier::DotAll),
    ("base64", Modifier::Base64),
    ("base64offset", Modifier::Base64Offset),
    ("utf16le", Modifier::Utf16Le),
    ("utf16be", Modifier::Utf16Be),
    ("utf16", Modifier::Utf16),
    ("lt", Modifier::Lt),
    ("lte", Modifier::Lte),
    ("gt", Modifier::Gt),
    ("gte", Modifier::Gte),
    ("minute", Modifier::Minute),
    ("hour", Modifier::Hour),
    ("day", Modifier::Day),
    ("week", Modifier::Week),
    ("month", Modifier::Month),
    ("year", Modifier::Year),
    ("cidr", Modifier::Cidr),
    ("expand", Modifier::Expand),
    ("fieldref", Modifier::FieldRef),
    // Aliases.
    ("wide", Modifier::Utf16Le),
    ("ignorecase", Modifier::IgnoreCase),
    ("multiline", Modifier::Multiline),
    ("dotall", Modifier::DotAll),
];

impl Modifier {
    /// Parses a modifier name. Names are case-sensitive, as in the specification.
    pub fn from_name(name: &str) -> Option<Modifier> {
        SPELLINGS
            .iter()
            .find(|(spelling, _)| *spelling == name)
            .map(|&(_, m)| m)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        SPELLINGS
            .iter()
            .find(|&&(_, m)| m == self)
            .map_or("?", |(spelling, _)| spelling)
    }

    /// All canonical names, for help texts and "did you mean".
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        SPELLINGS.iter().map(|(s, _)| *s)
    }

    /// The closest known spelling to an unknown one, if it is close enough to be a typo.
    pub fn suggest(unknown: &str) -> Option<&'static str> {
        let lower = unknown.to_ascii_lowercase();
        if let Some(m) = Modifier::from_name(&lower) {
            return Some(m.name());
        }
        Modifier::all_names()
            .map(|name| (edit_distance(&lower, name), name))
            .filter(|&(distance, name)| distance <= 2 && distance < name.len())
            .min()
            .map(|(_, name)| name)
    }

    /// Modifiers that act on the list of values rather than on each value.
    pub fn is_list_modifier(self) -> bool {
        matches!(self, Modifier::All | Modifier::Neq)
    }

    pub fn is_regex_flag(self) -> bool {
        matches!(
            self,
            Modifier::IgnoreCase | Modifier::Multiline | Modifier::DotAll
        )
    }

    pub fn is_time_part(self) -> bool {
        self.time_part().is_some()
    }

    pub fn time_part(self) -> Option<TimePart> {
        Some(match self {
            Modifier::Minute => TimePart::Minute,
            Modifier::Hour => TimePart::Hour,
            Modifier::Day => TimePart::Day,
            Modifier::Week => TimePart::Week,
            Modifier::Month => TimePart::Month,
            Modifier::Year => TimePart::Year,
            _ => return None,
        })
    }

    pub fn compare_op(self) -> Option<CompareOp> {
        Some(match self {
            Modifier::Lt => CompareOp::Lt,
            Modifier::Lte => CompareOp::Lte,
            Modifier::Gt => CompareOp::Gt,
            Modifier::Gte => CompareOp::Gte,
            _ => return None,
        })
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A numeric comparison (`lt`, `lte`, `gt`, `gte`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CompareOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Lte => "<=",
            CompareOp::Gt => ">",
            CompareOp::Gte => ">=",
        }
    }

    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Lt => left < right,
            CompareOp::Lte => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Gte => left >= right,
        }
    }
}

/// The part of a timestamp a time modifier compares (Sigma 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimePart {
    /// The values the part can take, for range checks (`None` for years).
    pub fn range(self) -> Option<(i64, i64)> {
        match self {
            TimePart::Minute => Some((0, 59)),
            TimePart::Hour => Some((0, 23)),
            TimePart::Day => Some((1, 31)),
            TimePart::Week => Some((1, 53)),
            TimePart::Month => Some((1, 12)),
            TimePart::Year => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimePart::Minute => "minute",
            TimePart::Hour => "hour",
            TimePart::Day => "day",
            TimePart::Week => "week",
            TimePart::Month => "month",
            TimePart::Year => "year",
        }
    }
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_modifier_parses_with_its_aliases() {
        let names = [
            "contains",
            "startswith",
            "endswith",
            "all",
            "exists",
            "cased",
            "neq",
            "windash",
            "re",
            "i",
            "ignorecase",
            "m",
            "multiline",
            "s",
            "dotall",
            "base64",
            "base64offset",
            "utf16le",
            "wide",
            "utf16be",
            "utf16",
            "lt",
            "lte",
            "gt",
            "gte",
            "minute",
            "hour",
            "day",
            "week",
            "month",
            "year",
            "cidr",
            "expand",
            "fieldref",
        ];
        for name in names {
            assert!(Modifier::from_name(name).is_some(), "{name}");
        }
        assert_eq!(Modifier::from_name("wide"), Some(Modifier::Utf16Le));
        assert_eq!(Modifier::Utf16Le.name(), "utf16le");
        assert_eq!(Modifier::from_name("dotall"), Some(Modifier::DotAll));
        assert_eq!(Modifier::from_name("Contains"), None);
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(Modifier::suggest("contians"), Some("contains"));
        assert_eq!(Modifier::suggest("Contains"), Some("contains"));
        assert_eq!(Modifier::suggest("endwith"), Some("endswith"));
        assert_eq!(Modifier::suggest("base64offest"), Some("base64offset"));
        assert_eq!(Modifier::suggest("frobnicate"), None);
    }

    #[test]
    fn compare_ops_hold() {
        assert!(CompareOp::Lt.holds(1.0, 2.0));
        assert!(!CompareOp::Lt.holds(2.0, 2.0));
        assert!(CompareOp::Lte.holds(2.0, 2.0));
        assert!(CompareOp::Gt.holds(3.0, 2.0));
        assert!(CompareOp::Gte.holds(2.0, 2.0));
        assert!(!CompareOp::Gte.holds(1.0, 2.0));
    }
}
