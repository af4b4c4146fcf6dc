//! Read a range of an EVTX file's chunks, one 64 KiB chunk in memory at a time.
//!
//! A record that is one template instance of a simple shape is filled straight from its
//! substitution values ([`crate::template`]); any other record is rendered to JSON by the
//! `evtx` crate (its public chunk API) and flattened like any nested Windows JSON event. Both
//! give the same fields (`tests/evtx_direct.rs`); the JSON text of a directly read record is
//! rendered only when asked for (an alert). Chunks are read at their fixed offsets, in file
//! order, so a file splits into independent work units; a damaged chunk, record or file
//! header is reported and skipped, and a panic inside `evtx` costs the rest of its chunk only.

use std::cell::OnceCell;
use std::fs::File;
use std::ops::{ControlFlow, Range};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxFileHeader, ParserSettings};

use crate::flatten::flatten_event;
use crate::problem::{Location, ProblemKind, ReadError, ReadProblem, UnitStats, error_chain};
use crate::template::{Shapes, fill_record};
use crate::{Event, EventBuf, Layout, LayoutChoice, ReadOptions};

/// Size of the file header block that precedes the first chunk.
pub(crate) const FILE_HEADER_SIZE: u64 = 4096;
/// Size of a chunk.
pub(crate) const CHUNK_SIZE: u64 = 65536;
/// Size of a chunk's header, the least of a chunk that can be parsed.
const CHUNK_HEADER_SIZE: usize = 512;
/// The first bytes of an EVTX file.
pub(crate) const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// Bytes between a record's start and its BinXML.
const RECORD_HEADER_SIZE: u64 = 24;

/// How many chunks (the last one possibly cut short) a file of `len` bytes holds.
pub(crate) fn chunk_count(len: u64) -> u64 {
    len.saturating_sub(FILE_HEADER_SIZE).div_ceil(CHUNK_SIZE)
}

/// Everything one unit's read needs.
pub(crate) struct EvtxRead<'a> {
    pub(crate) path: &'a Arc<Path>,
    pub(crate) chunks: Range<u64>,
    pub(crate) options: &'a ReadOptions,
}

/// Read the records of `read.chunks`.
pub(crate) fn read_evtx(
    read: &EvtxRead<'_>,
    chunk_buffer: &mut Vec<u8>,
    shapes: &mut Shapes,
    event: &mut EventBuf,
    on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    on_problem: &mut dyn FnMut(ReadProblem),
) -> Result<UnitStats, ReadError> {
    let path = read.path;
    let file = File::open(path).map_err(|e| ReadError::io(path, "open", e))?;
    let mut unit = Unit {
        path,
        stats: UnitStats::default(),
        validate_checksums: read.options.validate_checksums,
        evtx_json: read.options.evtx_json,
        shapes,
        on_problem,
    };
    if read.chunks.start == 0 {
        unit.check_file_header(&file)?;
    }
    let settings = Arc::new(
        ParserSettings::new()
            .indent(false)
            .separate_json_attributes(false)
            .validate_checksums(read.options.validate_checksums)
            .recover_records(read.options.recover_records),
    );
    for chunk in read.chunks.clone() {
        let offset = FILE_HEADER_SIZE + chunk * CHUNK_SIZE;
        let read_error = |e| ReadError::io(path, format!("read at byte {offset}"), e);
        // One positioned read per chunk: a read of the header first (to skip the all-zero
        // chunks most files end in) cost a second system call for every chunk in use.
        let available = read_chunk(&file, offset, chunk_buffer).map_err(read_error)?;
        if available == 0 {
            break;
        }
        if !chunk_buffer.starts_with(CHUNK_MAGIC) {
            let kind = if all_zero(&chunk_buffer[..available]) {
                continue;
            } else if available < CHUNK_HEADER_SIZE {
                ProblemKind::TruncatedChunk {
                    available: available as u64,
                }
            } else {
                ProblemKind::EvtxChunk("invalid chunk header magic".into())
            };
            unit.problem(Location::Chunk { chunk }, kind);
            continue;
        }
        if available < CHUNK_SIZE as usize {
            let kind = ProblemKind::TruncatedChunk {
                available: available as u64,
            };
            unit.problem(Location::Chunk { chunk }, kind);
            if available < CHUNK_HEADER_SIZE {
                continue;
            }
        }
        // The parser needs the whole chunk: what the file lacks reads as zeroes (free space),
        // as `read_chunk` left it.
        let data = std::mem::take(chunk_buffer);
        let flow = unit.chunk(
            (chunk, available),
            data,
            &settings,
            chunk_buffer,
            event,
            on_event,
        );
        if flow.is_break() {
            unit.stats.stopped = true;
            break;
        }
    }
    Ok(unit.stats)
}

/// Whether `bytes` are all zero, as the unused chunks that EVTX files are preallocated with
/// are. Folds blocks without stopping early, which the compiler vectorizes: a byte-at-a-time
/// scan of these chunks was 3% of a hunt's instructions.
fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|block| block.iter().fold(0, |acc, &b| acc | b) == 0)
}

/// Fill `buffer` with the chunk at `offset`: [`CHUNK_SIZE`] bytes, of which the first
/// returned count came from the file (fewer at its end) and the rest are zeroes.
fn read_chunk(file: &File, offset: u64, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    // The buffer comes back from the previous chunk at full size: only what the read leaves
    // is zeroed (zeroing all 64 KiB first was 6% of a hunt's instructions per record).
    buffer.resize(CHUNK_SIZE as usize, 0);
    let filled = fill_at(file, buffer, offset)?;
    buffer[filled..].fill(0);
    Ok(filled)
}

/// Read from `offset` until `buffer` is full or the file ends; return the bytes read.
pub(crate) fn fill_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match read_at(file, &mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}

struct Unit<'a> {
    path: &'a Arc<Path>,
    stats: UnitStats,
    validate_checksums: bool,
    /// Render every record to JSON ([`ReadOptions::evtx_json`]).
    evtx_json: bool,
    /// The template shapes seen so far.
    shapes: &'a mut Shapes,
    on_problem: &'a mut dyn FnMut(ReadProblem),
}

impl Unit<'_> {
    fn problem(&mut self, location: Location, kind: ProblemKind) {
        self.stats.problems += 1;
        (self.on_problem)(ReadProblem {
            path: Arc::clone(self.path),
            location,
            kind,
        });
    }

    /// Fail on a file that is not EVTX; report a damaged header, whose chunks are read anyway
    /// (they are found at fixed offsets).
    fn check_file_header(&mut self, file: &File) -> Result<(), ReadError> {
        let mut header = [0; FILE_HEADER_SIZE as usize];
        let filled = fill_at(file, &mut header, 0)
            .map_err(|e| ReadError::io(self.path, "read at byte 0", e))?;
        if !header.starts_with(FILE_MAGIC) {
            return Err(ReadError::NotEvtx {
                path: self.path.to_path_buf(),
                reason: "no `ElfFile` signature".into(),
            });
        }
        let damage = match EvtxFileHeader::from_bytes(&header[..filled]) {
            Ok(parsed) if parsed.validate_checksum() => None,
            Ok(parsed) => Some(format!(
                "checksum {:#010x} stored, {:#010x} computed",
                parsed.checksum, parsed.computed_checksum
            )),
            Err(e) => Some(error_chain(&e)),
        };
        if let Some(reason) = damage {
            self.problem(Location::Source, ProblemKind::EvtxFileHeader(reason));
        }
        Ok(())
    }

    /// Read the records of one chunk (`data`, which is given back through `buffer`), of
    /// which the file had `available` bytes.
    fn chunk(
        &mut self,
        (chunk, available): (u64, usize),
        data: Vec<u8>,
        settings: &Arc<ParserSettings>,
        buffer: &mut Vec<u8>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let location = Location::Chunk { chunk };
        let mut chunk_data = match EvtxChunkData::new(data, self.validate_checksums) {
            Ok(chunk_data) => chunk_data,
            Err(e) => {
                self.problem(location, ProblemKind::EvtxChunk(error_chain(&e)));
                return ControlFlow::Continue(());
            }
        };
        chunk_data.number = Some(chunk);
        // Template definitions live in their chunk.
        self.shapes.next_chunk();
        let flow = self.records(
            (chunk, available),
            &mut chunk_data,
            settings,
            event,
            on_event,
        );
        *buffer = chunk_data.data;
        flow
    }

    fn records(
        &mut self,
        (chunk, available): (u64, usize),
        chunk_data: &mut EvtxChunkData,
        settings: &Arc<ParserSettings>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let location = Location::Chunk { chunk };
        let settings = Arc::clone(settings);
        let parsed = catch_unwind(AssertUnwindSafe(move || chunk_data.parse(settings)));
        let mut parsed = match parsed {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(e)) => {
                self.problem(location, ProblemKind::EvtxChunk(error_chain(&e)));
                return ControlFlow::Continue(());
            }
            Err(panic) => {
                self.problem(location, ProblemKind::EvtxPanic(panic_message(&*panic)));
                return ControlFlow::Continue(());
            }
        };
        let mut records = parsed.iter();
        // A record of this chunk re-pointed at nested template instances.
        let mut probe = None;
        loop {
            let record = match catch_unwind(AssertUnwindSafe(|| records.next())) {
                Ok(None) => return ControlFlow::Continue(()),
                Ok(Some(Ok(record))) => record,
                Ok(Some(Err(e))) => {
                    self.problem(
                        record_location(chunk, &e),
                        ProblemKind::EvtxRecord(error_chain(&e)),
                    );
                    continue;
                }
                Err(panic) => {
                    self.problem(location, ProblemKind::EvtxPanic(panic_message(&*panic)));
                    return ControlFlow::Continue(());
                }
            };
            let record_location = Location::Record {
                chunk,
                record_id: Some(record.event_record_id),
                offset: record.binxml_offset.checked_sub(RECORD_HEADER_SIZE),
            };
            // In a truncated file, a record that runs past the end was read from zeroes.
            let record_end = record.binxml_offset + u64::from(record.binxml_size) + 4;
            if record_end > available as u64 {
                let reason = "the record runs past the end of the file".to_string();
                self.problem(record_location, ProblemKind::EvtxRecord(reason));
                continue;
            }
            let recovered = record.recovered;
            // Carved records go the JSON way, whose checks reject the damaged ones.
            let direct = !self.evtx_json && !recovered && {
                let shapes = &mut *self.shapes;
                // A panic here is left to the JSON path, which reports it.
                catch_unwind(AssertUnwindSafe(|| {
                    fill_record(&record, &mut probe, shapes, event).is_ok()
                }))
                .unwrap_or(false)
            };
            if direct {
                event.location = record_location;
                event.recovered = recovered;
                self.stats.events += 1;
                // Rendered at most once, however many alerts the record raises.
                let json = LazyJson::new(|| {
                    match catch_unwind(AssertUnwindSafe(|| record.clone().into_json_bytes())) {
                        Ok(Ok(rendered)) => Ok(rendered.data),
                        Ok(Err(e)) => Err(error_chain(&e)),
                        Err(panic) => Err(format!("panic: {}", panic_message(&*panic))),
                    }
                });
                let render = || json.get();
                let flow = on_event(event.event_rendered(&render));
                // The fields were read and matched; only the text for the alerts is missing.
                if let Some(reason) = json.failure() {
                    let reason = format!(
                        "its JSON rendering failed ({reason}); its fields were matched and its \
                         alerts show the event as null"
                    );
                    self.problem(record_location, ProblemKind::EvtxRecord(reason));
                }
                flow?;
                continue;
            }
            let rendered = match catch_unwind(AssertUnwindSafe(|| record.into_json_bytes())) {
                Ok(Ok(rendered)) => rendered,
                Ok(Err(e)) => {
                    self.problem(record_location, ProblemKind::EvtxRecord(error_chain(&e)));
                    continue;
                }
                Err(panic) => {
                    self.problem(location, ProblemKind::EvtxPanic(panic_message(&*panic)));
                    return ControlFlow::Continue(());
                }
            };
            let Ok(json) = std::str::from_utf8(&rendered.data) else {
                let reason = "its JSON rendering is not UTF-8".to_string();
                self.problem(record_location, ProblemKind::EvtxRecord(reason));
                continue;
            };
            let layout = LayoutChoice::Fixed(Layout::WindowsNested);
            if let Err(fail) = flatten_event(json, 0, layout, event) {
                let reason = format!("its JSON rendering could not be read: {}", fail.error);
                self.problem(record_location, ProblemKind::EvtxRecord(reason));
                continue;
            }
            event.location = record_location;
            event.recovered = recovered;
            self.stats.events += 1;
            self.stats.evtx_rendered += 1;
            on_event(event.event(json.as_bytes()))?;
        }
    }
}

/// A record's JSON text, rendered on the first request and kept; remembers why rendering
/// failed, so that the failure is reported rather than lost.
struct LazyJson<F> {
    render: F,
    rendered: OnceCell<Result<Vec<u8>, String>>,
}

impl<F: Fn() -> Result<Vec<u8>, String>> LazyJson<F> {
    fn new(render: F) -> Self {
        LazyJson {
            render,
            rendered: OnceCell::new(),
        }
    }

    /// The JSON text, rendered now if it was not yet; `None` when rendering failed.
    fn get(&self) -> Option<&[u8]> {
        self.rendered.get_or_init(&self.render).as_deref().ok()
    }

    /// Why rendering failed, if it was asked for and failed.
    fn failure(&self) -> Option<&str> {
        match self.rendered.get() {
            Some(Err(reason)) => Some(reason),
            _ => None,
        }
    }
}

/// Where an `evtx` record error points.
fn record_location(chunk: u64, error: &EvtxError) -> Location {
    match *error {
        EvtxError::FailedToReadRecordAt { offset, .. } => Location::Record {
            chunk,
            record_id: None,
            offset: Some(offset),
        },
        EvtxError::FailedToParseRecord { record_id, .. } => Location::Record {
            chunk,
            record_id: Some(record_id),
            offset: None,
        },
        _ => Location::Chunk { chunk },
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK_SIZE, LazyJson, all_zero, read_chunk};
    use std::cell::Cell;
    use std::io::Write;

    #[test]
    fn json_is_rendered_once_on_request_and_a_failure_is_kept() {
        let calls = Cell::new(0);
        let ok = LazyJson::new(|| {
            calls.set(calls.get() + 1);
            Ok(b"{}".to_vec())
        });
        assert_eq!(ok.failure(), None);
        assert_eq!(calls.get(), 0, "not rendered before it is asked for");
        assert_eq!(ok.get(), Some(&b"{}"[..]));
        assert_eq!(ok.get(), Some(&b"{}"[..]));
        assert_eq!(calls.get(), 1);
        assert_eq!(ok.failure(), None);

        let failing = LazyJson::new(|| Err("budget exceeded".to_string()));
        assert_eq!(
            failing.failure(),
            None,
            "nothing failed before it was asked for"
        );
        assert_eq!(failing.get(), None);
        assert_eq!(failing.failure(), Some("budget exceeded"));
    }

    #[test]
    fn a_short_read_leaves_zeroes_not_the_previous_chunk() {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&[7u8; 100]).expect("write");
        // The buffer as the previous chunk left it.
        let mut buffer = vec![0xaa; CHUNK_SIZE as usize];
        assert_eq!(read_chunk(&file, 40, &mut buffer).expect("read"), 60);
        assert_eq!(buffer.len(), CHUNK_SIZE as usize);
        assert!(buffer[..60].iter().all(|&b| b == 7));
        assert!(all_zero(&buffer[60..]));
        // And from an empty buffer.
        let mut buffer = Vec::new();
        assert_eq!(read_chunk(&file, 0, &mut buffer).expect("read"), 100);
        assert_eq!(buffer.len(), CHUNK_SIZE as usize);
        assert!(all_zero(&buffer[100..]));
    }

    #[test]
    fn all_zero_finds_any_non_zero_byte() {
        let mut chunk = vec![0u8; 65536];
        assert!(all_zero(&chunk));
        assert!(all_zero(&[]));
        for at in [0, 4095, 4096, 65535] {
            chunk[at] = 1;
            assert!(!all_zero(&chunk), "{at}");
            chunk[at] = 0;
        }
    }
}
