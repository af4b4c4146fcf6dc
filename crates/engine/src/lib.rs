//! The hunt engine: compile a whole Sigma rule set once, then match events against it.
//!
//! ```text
//! rules ──compile──► variants (one per pipeline source) ──► trees over shared atoms
//!                                                              │
//!        dispatch buckets (channel, event id) ◄────────────────┤
//!        per-field scan tables (hash + Aho-Corasick) ◄─────────┘
//!
//! event ──dispatch──► candidates ──walk fields once──► slots ──scan──► fired atoms
//!                                                  └──► triggered variants ──evaluate──► matches
//! ```
//!
//! Semantics follow Sigma v2.1.0 (values in `matcher`, structure in `lower`), with these
//! decisions where the specification leaves room:
//! - strings ignore case unless `cased` (both sides folded per character); `*`/`?` wildcards;
//!   a field with several values matches when any value does;
//! - regexes search unanchored, case-sensitive unless `i`; they are parsed when the rule set
//!   is compiled (unsupported syntax makes the rule a problem) and built on first use;
//! - numbers equal numerically (`4688`, `4688.0`) or as written, ignoring case (`0x10`);
//! - `null` is an absent field, a JSON null or an empty string; string tests never match a
//!   JSON null; `not`/`neq` over an absent field is true;
//! - keywords are found anywhere (substring) in any value of any field, as the specification's
//!   "full text" search; a keyword never spans two fields;
//! - event field names with spaces also answer to their name without spaces (`Threat Name` is
//!   `ThreatName`, as the specification names fields);
//! - `fieldref` compares ignoring case; `cidr` reads IPv4-mapped IPv6 addresses as IPv4;
//!   time parts are read from the timestamp as written (no time zones), weeks are ISO weeks.
//!
//! Every rule handed to the compiler is compiled or returned as a [`CompileProblem`]. A
//! compiled engine can be written as bytes and read back under a key of what it was compiled
//! from ([`Engine::snapshot`], [`Engine::from_snapshot`], [`compile_key`]), so that a rule set
//! compiled once is not compiled again by the next run.
//! [`explain::explain`] is the slow path that tells why one rule did or did not match one
//! event; the tests hold the fast path to it.
//!
//! ```
//! use sigrun_engine::{CompileOptions, Engine, MemoryEvent};
//! use sigrun_pipeline::Pipeline;
//!
//! let text = "title: t\nlogsource: {product: windows, category: process_creation}\n\
//!             detection: {sel: {Image|endswith: '\\whoami.exe'}, condition: sel}\n";
//! let set = sigrun_rule::RuleSet::from_sources([sigrun_rule::SourceFile::new("r.yml", text.to_owned())]);
//! let rule = set.documents().next().unwrap().document.rule().unwrap();
//! let pipeline = Pipeline::builtin("windows").unwrap();
//! let (engine, problems) = Engine::compile(&[(7, rule)], pipeline, &CompileOptions::default());
//! assert!(problems.is_empty());
//! let event = MemoryEvent::new()
//!     .with("Channel", "Microsoft-Windows-Sysmon/Operational")
//!     .with_number("EventID", 1)
//!     .with("Image", "C:\\Windows\\System32\\WHOAMI.EXE");
//! let mut scratch = engine.new_scratch();
//! assert_eq!(engine.matching_rules(&event, &mut scratch), [7]);
//! ```

mod atoms;
mod automaton;
mod compile;
mod dispatch;
mod engine;
mod event;
pub mod explain;
mod fx;
mod lower;
mod matcher;
mod memo;
mod problem;
mod regex_flavor;
mod regex_hint;
mod scan;
mod snapshot;
mod text;
mod tree;

pub use compile::CompileOptions;
pub use engine::{Engine, EngineStats, Match, Scratch};
pub use event::{EventView, FieldValue, MemoryEvent, ValueKind};
pub use lower::PlaceholderPolicy;
pub use memo::DEFAULT_SCAN_MEMO_BYTES;
pub use problem::{CompileProblem, ProblemKind};
pub use snapshot::{CompileKey, SnapshotError, compile_key};
