//! The Sigma rule language: YAML rule files to a typed AST with source spans, diagnostics with
//! file, line and column, and validators.
//!
//! ```text
//! text ──yaml──► spanned YAML tree ──parse──► Document (Rule | Correlation | Filter)
//!                                                   │
//!                                             validate ──► Diagnostics
//! ```
//! Nothing here knows about log formats or query languages.

pub mod cache;
pub mod condition;
pub mod detection;
pub mod diagnostic;
pub mod document;
pub mod filter;
pub mod loader;
pub mod modifier;
pub mod parse;
pub mod source;
pub mod string;
pub mod validate;
pub mod value;
pub mod yaml;

pub use cache::ParseCache;
pub use condition::{Condition, Expr, ExprKind, Pattern, Quantifier};
pub use detection::{DetectionItem, Search, SearchIdentifier, ValueJoin};
pub use diagnostic::{Diagnostic, Severity};
pub use document::*;
pub use loader::{DocRef, ReadFile, ReadRules, RuleFile, RuleSet, load_file, parse_source};
pub use modifier::Modifier;
pub use source::{LineCol, SourceFile, Span, Spanned};
pub use string::{Part, SigmaString};
pub use value::{MatchValue, Number};
