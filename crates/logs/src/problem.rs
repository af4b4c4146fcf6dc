//! Problems (a skipped part of an input, reading goes on) and errors (a whole unit or source
//! could not be read), both as values with their context.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::json::JsonError;

/// Where something is in a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// The source as a whole.
    Source,
    /// An EVTX chunk, by its index in the file (chunk `n` starts at byte `4096 + n * 65536`).
    Chunk {
        /// Index of the chunk in the file.
        chunk: u64,
    },
    /// An EVTX record.
    Record {
        /// Index of the chunk in the file.
        chunk: u64,
        /// The record's ID, when it could be read.
        record_id: Option<u64>,
        /// The record's byte offset in its chunk, when known.
        offset: Option<u64>,
    },
    /// A position in JSON text.
    Text {
        /// 1-based line number; `None` in a JSON Lines work unit that starts in the middle of a
        /// file, which does not know how many lines precede it.
        line: Option<u64>,
        /// Byte offset in the source.
        byte_offset: u64,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Location::Source => f.write_str("whole source"),
            Location::Chunk { chunk } => write!(f, "chunk {chunk}"),
            Location::Record {
                chunk,
                record_id,
                offset,
            } => {
                write!(f, "chunk {chunk}")?;
                if let Some(id) = record_id {
                    write!(f, ", record {id}")?;
                }
                if let Some(offset) = offset {
                    write!(f, ", offset {offset:#x} in chunk")?;
                }
                Ok(())
            }
            Location::Text {
                line: Some(line),
                byte_offset,
            } => write!(f, "line {line} (byte {byte_offset})"),
            Location::Text {
                line: None,
                byte_offset,
            } => write!(f, "byte {byte_offset}"),
        }
    }
}

/// Why a part of an input was skipped.
#[derive(Debug, thiserror::Error)]
pub enum ProblemKind {
    /// An EVTX chunk could not be parsed; its records were skipped.
    #[error("invalid EVTX chunk: {0}")]
    EvtxChunk(String),
    /// An EVTX record could not be parsed or rendered.
    #[error("invalid EVTX record: {0}")]
    EvtxRecord(String),
    /// The `evtx` crate panicked on this chunk; the rest of the chunk was skipped.
    #[error("the EVTX parser failed on this chunk (panic: {0}); rest of the chunk skipped")]
    EvtxPanic(String),
    /// The EVTX file header is damaged; its chunks were read anyway.
    #[error("damaged EVTX file header ({0}); chunks read anyway")]
    EvtxFileHeader(String),
    /// The file ends inside an EVTX chunk; the records that fit were read.
    #[error("file truncated: chunk has {available} of 65536 bytes")]
    TruncatedChunk {
        /// Bytes of the chunk present in the file.
        available: u64,
    },
    /// A JSON event could not be parsed.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Text between events that is neither JSON nor an `evtx_dump` `Record N` line.
    #[error("unexpected text between events (expected a JSON object)")]
    UnexpectedText,
    /// An event is larger than [`ReadOptions::max_event_bytes`](crate::ReadOptions).
    #[error("event larger than the {limit}-byte limit; skipped")]
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The text is UTF-16 (PowerShell's `>` writes it); only UTF-8 JSON is read.
    #[error("the text is UTF-16 encoded; only UTF-8 JSON is supported (convert it first)")]
    Utf16,
    /// EVTX data on standard input, which is read as JSON only.
    #[error("EVTX data on standard input is not supported; pass the file path instead")]
    EvtxOnStdin,
}

/// A skipped part of an input: the rest of the input was read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {location}: {kind}", path.display())]
pub struct ReadProblem {
    /// The source's path (`-` for standard input).
    pub path: Arc<Path>,
    /// Where in the source.
    pub location: Location,
    /// What was wrong.
    pub kind: ProblemKind,
}

/// A whole work unit or source that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening, seeking or reading failed.
    #[error("{}: {action} failed: {source}", path.display())]
    Io {
        /// The source's path.
        path: PathBuf,
        /// What was being done (`open`, `read at byte 4096`, …).
        action: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file read as EVTX that is not one (no file header, no chunk where the first belongs).
    #[error("{}: not an EVTX file: {reason}", path.display())]
    NotEvtx {
        /// The source's path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl ReadError {
    pub(crate) fn io(path: &Path, action: impl Into<String>, source: std::io::Error) -> Self {
        ReadError::Io {
            path: path.to_path_buf(),
            action: action.into(),
            source,
        }
    }
}

/// What reading one work unit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitStats {
    /// Events passed to the callback.
    pub events: u64,
    /// Problems passed to the problem callback.
    pub problems: u64,
    /// Whether the event callback stopped the reading early.
    pub stopped: bool,
    /// EVTX records read through their JSON rendering; the others were filled straight from
    /// their template values (see [`ReadOptions::evtx_json`](crate::ReadOptions::evtx_json)).
    pub evtx_rendered: u64,
    /// JSON texts of EVTX records read from their template values that sigrun wrote from
    /// those values when an alert asked for them; `evtx` rendered the others that were asked
    /// for.
    pub json_from_values: u64,
    /// The unit was a file told only when read ([`UnitKind::File`](crate::UnitKind)) that
    /// turned out to be no log (empty, or neither EVTX nor JSON): nothing was read, as
    /// discovery skips such files found in folders without a word when it tells them itself.
    /// A file that cannot be opened or read is an error, as for any unit.
    pub not_a_log: bool,
}

/// Format an error with its chain of sources: `evtx` wraps the useful detail in sources.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
