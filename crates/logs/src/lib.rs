//! Windows event log readers for sigrun: EVTX files and JSON / JSON Lines text in three
//! layouts (nested Windows XML as JSON, flat NXLog-style, Elastic Common Schema), all
//! flattened into one borrowed [`Event`] view that the matching engine reads fields from.
//!
//! The flow: [`discover`] turns inputs (files, folders, globs, `-`) into [`Source`]s, each
//! split into [`WorkUnit`]s; [`read_unit`] reads one unit with a per-thread [`ReadScratch`],
//! calling back with every event and every skipped part ([`ReadProblem`]). Units can be read
//! in parallel and their output put back in [`WorkUnit::key`] order.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use sigrun_logs::{DiscoverOptions, Input, ReadOptions, ReadScratch, discover, read_unit};
//!
//! let sources = discover(&[Input::from_arg("logs/")], &DiscoverOptions::default());
//! let mut scratch = ReadScratch::new();
//! for unit in sources.iter().flat_map(|s| s.units()) {
//!     let stats = read_unit(unit, &ReadOptions::default(), &mut scratch, |event| {
//!         if event.event_id() == Some(4688) {
//!             println!("{:?}", event.first("CommandLine"));
//!         }
//!         ControlFlow::Continue(())
//!     }, |problem| eprintln!("{problem}"));
//!     if let Err(error) = stats {
//!         eprintln!("{error}");
//!     }
//! }
//! ```

mod event;
mod evtx;
mod flatten;
mod header;
mod json;
mod names;
mod problem;
mod read;
mod source;
mod template;
mod text;

pub use event::{
    Event, EventBuf, Fields, FieldsWithIds, Layout, LayoutChoice, Value, ValueKind, Values,
};
pub use json::{JsonError, write_json_string};
pub use problem::{Location, ProblemKind, ReadError, ReadProblem, UnitStats};
pub use read::{ReadOptions, ReadScratch, read_json_bytes, read_unit};
pub use source::{
    DiscoverOptions, Input, SkipReason, Source, SourceKind, UnitKind, WorkUnit, discover,
};
