//! Read one work unit: the entry point that dispatches to the EVTX or the JSON text reader.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::evtx::{ChunkBuffer, EvtxRead, Opened, read_evtx};
use crate::problem::{ReadError, ReadProblem, UnitStats};
use crate::source::{Told, UnitKind, WorkUnit, tell};
use crate::template::Shapes;
use crate::text::{TextRead, read_text};
use crate::{Event, EventBuf, LayoutChoice};

/// How events are read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The layout of JSON events (EVTX records are always [`Layout::WindowsNested`](crate::Layout)).
    pub layout: LayoutChoice,
    /// JSON events larger than this are skipped with a problem; it also bounds the memory a
    /// reader holds (one event plus a 1 MiB block).
    pub max_event_bytes: usize,
    /// Also read EVTX records carved from unallocated chunk space
    /// ([`Event::is_recovered`]).
    pub recover_records: bool,
    /// Skip EVTX chunks whose CRC32 checksums do not match (reported as problems).
    pub validate_checksums: bool,
    /// Read every EVTX record through its JSON rendering. By default a record that is one
    /// template instance of a simple shape is filled straight from its substitution values,
    /// which gives the same fields at a fraction of the cost (`tests/evtx_direct.rs`).
    pub evtx_json: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            layout: LayoutChoice::Auto,
            max_event_bytes: 8 << 20,
            recover_records: false,
            validate_checksums: false,
            evtx_json: false,
        }
    }
}

/// The buffers one reading thread reuses from unit to unit, so that reading allocates
/// nothing per event once they have grown.
#[derive(Debug, Default)]
pub struct ReadScratch {
    event: EventBuf,
    text: Vec<u8>,
    chunk: ChunkBuffer,
    /// EVTX template shapes, reused across chunks and files.
    shapes: Shapes,
}

impl ReadScratch {
    /// Empty buffers.
    pub fn new() -> Self {
        ReadScratch::default()
    }
}

/// Read every event of `unit`, in source order, passing each to `on_event` (return
/// `ControlFlow::Break` to stop early) and every skipped part to `on_problem`.
///
/// An `Err` means the unit could not be read at all or reading failed part way (I/O); events
/// already passed on stay valid.
pub fn read_unit<E, P>(
    unit: &WorkUnit,
    options: &ReadOptions,
    scratch: &mut ReadScratch,
    mut on_event: E,
    mut on_problem: P,
) -> Result<UnitStats, ReadError>
where
    E: FnMut(Event<'_>) -> ControlFlow<()>,
    P: FnMut(ReadProblem),
{
    let path = &unit.path;
    match &unit.kind {
        UnitKind::Evtx { chunks } => {
            let read = EvtxRead {
                path,
                chunks: chunks.clone(),
                options,
                opened: None,
            };
            read_evtx(
                &read,
                &mut scratch.chunk,
                &mut scratch.shapes,
                &mut scratch.event,
                &mut on_event,
                &mut on_problem,
            )
        }
        UnitKind::Json { bytes } => {
            let mut file = File::open(path).map_err(|e| ReadError::io(path, "open", e))?;
            file.seek(SeekFrom::Start(bytes.start))
                .map_err(|e| ReadError::io(path, format!("seek to byte {}", bytes.start), e))?;
            let read = text_read(path, bytes.start, options);
            read_text(
                file.take(bytes.end - bytes.start),
                &read,
                &mut scratch.text,
                &mut scratch.event,
                &mut on_event,
                &mut on_problem,
            )
        }
        UnitKind::File { len } => read_file(
            (unit, *len),
            options,
            scratch,
            &mut on_event,
            &mut on_problem,
        ),
        UnitKind::Stdin => {
            let read = text_read(path, 0, options);
            read_text(
                std::io::stdin().lock(),
                &read,
                &mut scratch.text,
                &mut scratch.event,
                &mut on_event,
                &mut on_problem,
            )
        }
    }
}

/// A whole file, told EVTX or JSON here, as discovery would have told it, from the same
/// open file it is then read from.
fn read_file(
    (unit, len): (&WorkUnit, u64),
    options: &ReadOptions,
    scratch: &mut ReadScratch,
    on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    on_problem: &mut dyn FnMut(ReadProblem),
) -> Result<UnitStats, ReadError> {
    let path = &unit.path;
    let not_a_log = UnitStats {
        not_a_log: true,
        ..UnitStats::default()
    };
    let file = File::open(path).map_err(|e| ReadError::io(path, "open", e))?;
    let mut head = [0; 4096];
    let filled = crate::evtx::fill_at(&file, &mut head, 0)
        .map_err(|e| ReadError::io(path, "read at byte 0", e))?;
    match tell(&head[..filled], len) {
        Told::Evtx => {
            let read = EvtxRead {
                path,
                chunks: 0..crate::evtx::chunk_count(len),
                options,
                opened: Some(Opened {
                    file: &file,
                    len,
                    head: &head[..filled],
                }),
            };
            read_evtx(
                &read,
                &mut scratch.chunk,
                &mut scratch.shapes,
                &mut scratch.event,
                on_event,
                on_problem,
            )
        }
        Told::Json { .. } => read_text(
            file.take(len),
            &text_read(path, 0, options),
            &mut scratch.text,
            &mut scratch.event,
            on_event,
            on_problem,
        ),
        Told::Skip(_) => Ok(not_a_log),
    }
}

fn text_read<'a>(path: &'a Arc<Path>, start: u64, options: &ReadOptions) -> TextRead<'a> {
    TextRead {
        path,
        base: start,
        from_start: start == 0,
        layout: options.layout,
        max_event_bytes: options.max_event_bytes,
    }
}

/// Read JSON events from `bytes` as if they were a whole JSON source: the entry point for
/// fuzzing and for callers that already hold the text. Problems name the path `<bytes>`.
pub fn read_json_bytes<E, P>(
    bytes: &[u8],
    layout: LayoutChoice,
    scratch: &mut ReadScratch,
    mut on_event: E,
    mut on_problem: P,
) -> UnitStats
where
    E: FnMut(Event<'_>) -> ControlFlow<()>,
    P: FnMut(ReadProblem),
{
    let path: Arc<Path> = Arc::from(Path::new("<bytes>"));
    let options = ReadOptions {
        layout,
        ..ReadOptions::default()
    };
    let read = text_read(&path, 0, &options);
    // Reading a slice cannot fail.
    read_text(
        bytes,
        &read,
        &mut scratch.text,
        &mut scratch.event,
        &mut on_event,
        &mut on_problem,
    )
    .unwrap_or_default()
}
