//! Scopes: the classes of rules a pySigma pipeline treats alike, one sigrun source each.
//!
//! pySigma applies every transformation whose logsource conditions a rule satisfies, in
//! order; sigrun resolves a rule to its most specific sources only. The two agree when there
//! is one source per *meet* (key-wise union) of the condition logsources: for any rule, the
//! meet of all the condition logsources it satisfies is itself a scope, it is the unique most
//! specific scope the rule matches, and a condition logsource holds for the rule exactly when
//! that scope implies it. So each scope decides every logsource condition for all its rules.

use std::collections::BTreeSet;
use std::fmt;

use crate::logsource::{KeyRequirement, LogsourcePattern};

/// A logsource requirement of pySigma: the named keys must equal, the others are free.
/// Values are lower-case (sigrun compares logsources ignoring case).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Scope {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl Scope {
    fn keys(&self) -> [&Option<String>; 3] {
        [&self.product, &self.category, &self.service]
    }

    pub(crate) fn specificity(&self) -> usize {
        self.keys().iter().filter(|key| key.is_some()).count()
    }

    /// Whether every rule in `self` satisfies `pattern`.
    pub(crate) fn implies(&self, pattern: &Scope) -> bool {
        self.keys()
            .into_iter()
            .zip(pattern.keys())
            .all(|(mine, theirs)| theirs.is_none() || mine == theirs)
    }

    /// The rules in both, or `None` when no rule can be in both (different values).
    fn meet(&self, other: &Scope) -> Option<Scope> {
        fn key(a: &Option<String>, b: &Option<String>) -> Result<Option<String>, ()> {
            match (a, b) {
                (Some(x), Some(y)) if x != y => Err(()),
                (Some(x), _) | (_, Some(x)) => Ok(Some(x.clone())),
                (None, None) => Ok(None),
            }
        }
        Some(Scope {
            product: key(&self.product, &other.product).ok()?,
            category: key(&self.category, &other.category).ok()?,
            service: key(&self.service, &other.service).ok()?,
        })
    }

    /// The source's logsource: named keys must equal, the others are free.
    pub(crate) fn pattern(&self) -> LogsourcePattern {
        let requirement = |key: &Option<String>| match key {
            Some(value) => KeyRequirement::Equals(value.clone()),
            None => KeyRequirement::Any,
        };
        LogsourcePattern {
            category: requirement(&self.category),
            product: requirement(&self.product),
            service: requirement(&self.service),
        }
    }
}

impl fmt::Display for Scope {
    /// `product=windows category=process_creation`; `any logsource` for the empty scope.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, value) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(value) = value {
                parts.push(format!("{name}={value}"));
            }
        }
        if parts.is_empty() {
            f.write_str("any logsource")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// More scopes than this means the conditions combine explosively; refuse rather than hang.
pub(crate) const MAX_SCOPES: usize = 4096;

/// The empty scope plus every meet of the given patterns, least specific first (ties in a
/// fixed order, so that the output is deterministic). `None` when there would be more than
/// [`MAX_SCOPES`].
pub(crate) fn closure(patterns: &BTreeSet<Scope>) -> Option<Vec<Scope>> {
    let mut all: BTreeSet<Scope> = BTreeSet::new();
    all.insert(Scope::default());
    let mut frontier: Vec<Scope> = patterns.iter().cloned().collect();
    while let Some(scope) = frontier.pop() {
        if !all.insert(scope.clone()) {
            continue;
        }
        if all.len() > MAX_SCOPES {
            return None;
        }
        for pattern in patterns {
            if let Some(meet) = scope.meet(pattern)
                && !all.contains(&meet)
            {
                frontier.push(meet);
            }
        }
    }
    let mut scopes: Vec<Scope> = all.into_iter().collect();
    scopes.sort_by(|a, b| a.specificity().cmp(&b.specificity()).then_with(|| a.cmp(b)));
    Some(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(product: Option<&str>, category: Option<&str>) -> Scope {
        Scope {
            product: product.map(str::to_owned),
            category: category.map(str::to_owned),
            service: None,
        }
    }

    #[test]
    fn closure_adds_meets_of_overlapping_patterns() {
        let patterns = BTreeSet::from([
            scope(Some("windows"), None),
            scope(None, Some("process_creation")),
            scope(Some("linux"), None),
        ]);
        let names: Vec<String> = closure(&patterns)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names,
            [
                "any logsource",
                "category=process_creation",
                "product=linux",
                "product=windows",
                "product=linux category=process_creation",
                "product=windows category=process_creation",
            ]
        );
    }

    #[test]
    fn implication_is_key_wise() {
        let windows = scope(Some("windows"), None);
        let windows_pc = scope(Some("windows"), Some("process_creation"));
        assert!(windows_pc.implies(&windows));
        assert!(!windows.implies(&windows_pc));
        assert!(windows.implies(&Scope::default()));
    }
}
