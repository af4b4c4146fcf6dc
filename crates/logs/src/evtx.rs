//! Read a range of an EVTX file's chunks, one 64 KiB chunk in memory at a time.
//!
//! A chunk's records are found by walking their headers as `evtx`'s record iterator does
//! ([`RecordWalk`]). A record that is one template instance of a simple shape is filled
//! straight from its substitution values ([`crate::template`]); any other record is taken
//! from `evtx`'s iterator, rendered to JSON and flattened like any nested Windows JSON event.
//! Both give the same fields (`tests/evtx_direct.rs`). The JSON text an alert carries is
//! written from the same values when the record's template plans cover it
//! ([`crate::template::Filled::write_json`]), else rendered by `evtx`. The iterator builds
//! every record's content as it passes it, which costs more than filling the event, so it is
//! advanced only as far as a record that needs it ([`EvtxRecords`]): one read through JSON, or
//! one whose JSON text an alert asks for and the plans do not cover. Where the walk meets a record header it cannot read, the rest
//! of the chunk is left to the iterator, which reports it and finds the records after it.
//!
//! Chunks are read at their fixed offsets, in file order, so a file splits into independent
//! work units; a damaged chunk, record or file header is reported and skipped. A panic inside
//! `evtx` is reported; it costs the records of its chunk that still needed `evtx`, each
//! reported too.

use std::cell::{Cell, OnceCell, RefCell};
use std::fs::File;
use std::ops::{ControlFlow, Range};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{
    EvtxChunkData, EvtxChunkHeader, EvtxFileHeader, EvtxRecord, EvtxRecordHeader, IterChunkRecords,
    ParserSettings,
};

use crate::flatten::flatten_event;
use crate::problem::{Location, ProblemKind, ReadError, ReadProblem, UnitStats, error_chain};
use crate::template::{Shapes, fill_record, fill_record_bytes};
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
    /// The file, when the caller has opened it: its length and first bytes (up to its
    /// header's size), read already. Else it is opened here.
    pub(crate) opened: Option<Opened<'a>>,
}

/// A file opened and begun by the caller of [`read_evtx`].
pub(crate) struct Opened<'a> {
    pub(crate) file: &'a File,
    pub(crate) len: u64,
    pub(crate) head: &'a [u8],
}

/// Read the records of `read.chunks`.
pub(crate) fn read_evtx(
    read: &EvtxRead<'_>,
    chunk_buffer: &mut ChunkBuffer,
    shapes: &mut Shapes,
    event: &mut EventBuf,
    on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    on_problem: &mut dyn FnMut(ReadProblem),
) -> Result<UnitStats, ReadError> {
    let path = read.path;
    let file_opened_here;
    let file = match &read.opened {
        Some(opened) => opened.file,
        None => {
            file_opened_here = File::open(path).map_err(|e| ReadError::io(path, "open", e))?;
            &file_opened_here
        }
    };
    let mut unit = Unit {
        path,
        stats: UnitStats::default(),
        validate_checksums: read.options.validate_checksums,
        evtx_json: read.options.evtx_json,
        recover_records: read.options.recover_records,
        shapes,
        on_problem,
    };
    // Chunks past those the file header counts may be the unused space files are
    // preallocated with; only a sound header is believed.
    let head = read.opened.as_ref().map(|opened| opened.head);
    let declared_chunks = unit.file_header(file, head, read.chunks.start == 0)?;
    let settings = Arc::new(
        ParserSettings::new()
            .indent(false)
            .separate_json_attributes(false)
            .validate_checksums(read.options.validate_checksums)
            .recover_records(read.options.recover_records),
    );
    let file_len = match &read.opened {
        Some(opened) => opened.len,
        None => file
            .metadata()
            .map_err(|e| ReadError::io(path, "stat", e))?
            .len(),
    };
    for chunk in read.chunks.clone() {
        let offset = FILE_HEADER_SIZE + chunk * CHUNK_SIZE;
        let read_error = |e| ReadError::io(path, format!("read at byte {offset}"), e);
        let extent = if read.options.recover_records {
            // Carving stale records reads what lies past a chunk's free space.
            ChunkExtent::Whole
        } else if declared_chunks.is_some_and(|declared| chunk >= declared) {
            ChunkExtent::UsedOrUnused
        } else {
            ChunkExtent::Used
        };
        let available =
            read_chunk(file, (offset, file_len), extent, chunk_buffer).map_err(read_error)?;
        if available == 0 {
            break;
        }
        if !chunk_buffer.bytes.starts_with(CHUNK_MAGIC) {
            let kind = if chunk_buffer.is_zero(available) {
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
        let data = std::mem::take(&mut chunk_buffer.bytes);
        let flow = unit.chunk(
            (chunk, available),
            data,
            &settings,
            &mut chunk_buffer.bytes,
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

/// The first read of a chunk: its header and, in most chunks, every record (the median chunk
/// of ../shared/corpus/evtx-attack-samples uses 12 KiB of its 64).
const FIRST_READ: usize = 16 * 1024;

/// The buffer chunks are read into, one at a time, and how far the reads so far may have
/// left bytes that are not zero (all of it is zero from there on).
#[derive(Debug, Default)]
pub(crate) struct ChunkBuffer {
    pub(crate) bytes: Vec<u8>,
    dirty: usize,
}

impl ChunkBuffer {
    /// Whether the chunk just read, of which the file had `available` bytes, is all zeroes
    /// (as the unused chunks EVTX files are preallocated with are); then nothing needs
    /// zeroing before the next.
    fn is_zero(&mut self, available: usize) -> bool {
        let zero = all_zero(&self.bytes[..available.min(self.bytes.len())]);
        if zero && available >= self.dirty {
            self.dirty = 0;
        }
        zero
    }
}

/// How much of a chunk [`read_chunk`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkExtent {
    /// All of it (carving stale records needs what lies past the free space).
    Whole,
    /// As far as its header says its free space starts; a chunk without a header is read
    /// whole (so that what is wrong with it can be told).
    Used,
    /// The same, except that a chunk without a header whose first read is all zeroes is taken
    /// for the unused space files are preallocated with, and not read further: for the chunks
    /// past those a sound file header counts.
    UsedOrUnused,
}

/// Fill `buffer` (made [`CHUNK_SIZE`] long) with the chunk at `offset` of a file of
/// `file_len` bytes, as far as `extent` says; return how many of the chunk's bytes the file
/// holds (fewer at its end, or if it shrank since). Most chunks are far from full, and
/// copying the unused part (and the preallocated chunks most files end in) was most of the
/// reading's system time. At most two reads per chunk. What is not read reads as zeroes, and
/// only what an earlier chunk left there is zeroed.
fn read_chunk(
    file: &File,
    (offset, file_len): (u64, u64),
    extent: ChunkExtent,
    buffer: &mut ChunkBuffer,
) -> std::io::Result<usize> {
    // The buffer comes back from the previous chunk at full size (or empty, after a chunk
    // `evtx` refused, and then zeroed by the resize).
    let bytes = &mut buffer.bytes;
    bytes.resize(CHUNK_SIZE as usize, 0);
    let in_file = file_len.saturating_sub(offset).min(CHUNK_SIZE) as usize;
    let first = match extent {
        ChunkExtent::Whole => in_file,
        ChunkExtent::Used | ChunkExtent::UsedOrUnused => in_file.min(FIRST_READ),
    };
    let stale = buffer.dirty;
    // Should a read fail midway, anything up to the chunk's end may hold file bytes.
    buffer.dirty = stale.max(in_file);
    let mut read = fill_at(file, &mut bytes[..first], offset)?;
    let mut wanted = first;
    if read == first && first < in_file {
        wanted = if bytes.starts_with(CHUNK_MAGIC) {
            free_space_offset(bytes).clamp(first, in_file)
        } else if extent == ChunkExtent::UsedOrUnused && all_zero(&bytes[..first]) {
            first
        } else {
            in_file
        };
        read += fill_at(file, &mut bytes[first..wanted], offset + first as u64)?;
    }
    if stale > read {
        bytes[read..stale].fill(0);
    }
    buffer.dirty = read;
    Ok(if read < wanted { read } else { in_file })
}

/// Where a chunk header says the chunk's free space starts.
fn free_space_offset(header: &[u8]) -> usize {
    header
        .get(48..52)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(CHUNK_SIZE as usize, |bytes| {
            u32::from_le_bytes(bytes) as usize
        })
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
    /// Carve stale records too ([`ReadOptions::recover_records`]): every record goes through
    /// `evtx`'s iterator, which finds them.
    recover_records: bool,
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

    /// The number of chunks the file header counts, when the header is sound. With
    /// `report` (the unit that starts the file): fail on a file that is not EVTX, and report
    /// a damaged header, whose chunks are read anyway (they are found at fixed offsets).
    fn file_header(
        &mut self,
        file: &File,
        head: Option<&[u8]>,
        report: bool,
    ) -> Result<Option<u64>, ReadError> {
        let mut header = [0; FILE_HEADER_SIZE as usize];
        let filled = match head {
            Some(head) => {
                let filled = head.len().min(header.len());
                header[..filled].copy_from_slice(&head[..filled]);
                filled
            }
            None => fill_at(file, &mut header, 0)
                .map_err(|e| ReadError::io(self.path, "read at byte 0", e))?,
        };
        if !header.starts_with(FILE_MAGIC) {
            if !report {
                return Ok(None);
            }
            return Err(ReadError::NotEvtx {
                path: self.path.to_path_buf(),
                reason: "no `ElfFile` signature".into(),
            });
        }
        let (declared, damage) = match EvtxFileHeader::from_bytes(&header[..filled]) {
            Ok(parsed) if parsed.validate_checksum() => (Some(u64::from(parsed.chunk_count)), None),
            Ok(parsed) => (
                None,
                Some(format!(
                    "checksum {:#010x} stored, {:#010x} computed",
                    parsed.checksum, parsed.computed_checksum
                )),
            ),
            Err(e) => (None, Some(error_chain(&e))),
        };
        if let Some(reason) = damage.filter(|_| report) {
            self.problem(Location::Source, ProblemKind::EvtxFileHeader(reason));
        }
        Ok(declared)
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
        let (data, header) = (parsed.data, parsed.header);
        let records = RefCell::new(EvtxRecords::new(data, parsed.iter()));
        // A record of this chunk re-pointed at nested template instances.
        let mut probe = None;
        let this = (chunk, available);
        if !self.evtx_json && !self.recover_records {
            let mut walk = RecordWalk::new(data, header);
            loop {
                match walk.next() {
                    None => return ControlFlow::Continue(()),
                    Some(Walked::Record(raw)) => {
                        let step =
                            self.raw_record(this, &raw, &records, &mut probe, event, on_event);
                        if let Some(flow) = chunk_flow(step) {
                            return flow;
                        }
                    }
                    // The rest of the chunk is left to `evtx`, which reports what is wrong
                    // there and finds the records after it.
                    Some(Walked::Unusual(offset)) => {
                        records.borrow_mut().skip_before(offset);
                        break;
                    }
                }
            }
        }
        let mut records = records.into_inner();
        if records.panicked {
            let reason = "the records after the last one read were not read: the evtx crate \
                          panicked earlier in this chunk";
            self.problem(location, ProblemKind::EvtxChunk(reason.into()));
            return ControlFlow::Continue(());
        }
        loop {
            let record = match records.next() {
                Err(panic) => {
                    self.problem(location, ProblemKind::EvtxPanic(panic));
                    return ControlFlow::Continue(());
                }
                Ok(None) => return ControlFlow::Continue(()),
                Ok(Some(Ok(record))) => record,
                Ok(Some(Err(e))) => {
                    self.problem(
                        record_location(chunk, &e),
                        ProblemKind::EvtxRecord(error_chain(&e)),
                    );
                    continue;
                }
            };
            let step = self.record(this, record, &mut probe, event, on_event);
            if let Some(flow) = chunk_flow(step) {
                return flow;
            }
        }
    }

    /// Whether the record at `location`, which ends at chunk offset `end`, runs past the
    /// `available` bytes the file had for its chunk (reported: in a truncated file, the rest
    /// was read from zeroes).
    fn past_the_end(&mut self, location: Location, end: u64, available: usize) -> bool {
        let past = end > available as u64;
        if past {
            let reason = "the record runs past the end of the file".to_string();
            self.problem(location, ProblemKind::EvtxRecord(reason));
        }
        past
    }

    /// A record found by [`RecordWalk`]: filled from its bytes when it has the common layout,
    /// its JSON text written (from the values, or by `evtx`) only if an alert asks for it;
    /// else read through `evtx`.
    fn raw_record<'c>(
        &mut self,
        (chunk, available): (u64, usize),
        raw: &RawRecord,
        records: &RefCell<EvtxRecords<'c>>,
        probe: &mut Option<EvtxRecord<'c>>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<Stop> {
        let location = raw.location(chunk);
        if self.past_the_end(location, raw.end(), available) {
            return ControlFlow::Continue(());
        }
        let data = records.borrow().data;
        let shapes = &mut *self.shapes;
        let stream = (raw.binxml_offset, raw.binxml_size);
        // A panic here is left to the way through `evtx`, which reports it.
        let filled = catch_unwind(AssertUnwindSafe(|| {
            fill_record_bytes(data, stream, shapes, event).ok()
        }))
        .unwrap_or(None);
        let Some(filled) = filled else {
            let sought = records.borrow_mut().seek(raw);
            return match sought {
                Sought::Found(record) => {
                    self.record((chunk, available), record, probe, event, on_event)
                }
                Sought::Failed(reason) => {
                    self.problem(location, ProblemKind::EvtxRecord(reason));
                    ControlFlow::Continue(())
                }
            };
        };
        // Written here from the values when the plans cover the record (no panic is
        // expected: a declined or panicking write is left to `evtx`, which reports).
        let written_here = Cell::new(false);
        let json = |event: &EventBuf| {
            // Most records' JSON is 1-3 KB: grown from nothing, it was copied four times.
            let mut out = Vec::with_capacity(4096);
            let written = catch_unwind(AssertUnwindSafe(|| {
                filled.write_json(data, stream, event, &mut out).is_ok()
            }));
            if written.unwrap_or(false) {
                written_here.set(true);
                return Ok(out);
            }
            match records.borrow_mut().seek(raw) {
                Sought::Found(record) => render(record),
                Sought::Failed(reason) => Err(reason),
            }
        };
        let flow = self.direct_event(location, json, event, on_event);
        if written_here.get() {
            self.stats.json_from_values += 1;
        }
        flow
    }

    /// Hands on an event filled from its record's template values. `json` renders the
    /// record's JSON text: called only if an alert asks for it, once however many do, and its
    /// failure is reported.
    fn direct_event(
        &mut self,
        location: Location,
        json: impl Fn(&EventBuf) -> Result<Vec<u8>, String>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<Stop> {
        event.location = location;
        event.recovered = false;
        self.stats.events += 1;
        let event = &*event;
        let json = LazyJson::new(|| json(event));
        let render = || json.get();
        let flow = on_event(event.event_rendered(&render));
        // The fields were read and matched; only the text for the alerts is missing.
        if let Some(reason) = json.failure() {
            let reason = format!(
                "its JSON rendering failed ({reason}); its fields were matched and its alerts \
                 show the event as null"
            );
            self.problem(location, ProblemKind::EvtxRecord(reason));
        }
        flow.map_break(|()| Stop::Hunt)
    }

    /// A record `evtx`'s iterator returned: filled from its template values when it can be,
    /// else rendered to JSON and flattened.
    fn record<'c>(
        &mut self,
        (chunk, available): (u64, usize),
        record: EvtxRecord<'c>,
        probe: &mut Option<EvtxRecord<'c>>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<Stop> {
        let record_location = Location::Record {
            chunk,
            record_id: Some(record.event_record_id),
            offset: record.binxml_offset.checked_sub(RECORD_HEADER_SIZE),
        };
        let record_end = record.binxml_offset + u64::from(record.binxml_size) + 4;
        if self.past_the_end(record_location, record_end, available) {
            return ControlFlow::Continue(());
        }
        let recovered = record.recovered;
        // Carved records go the JSON way, whose checks reject the damaged ones.
        let direct = !self.evtx_json && !recovered && {
            let shapes = &mut *self.shapes;
            // A panic here is left to the JSON path, which reports it.
            catch_unwind(AssertUnwindSafe(|| {
                fill_record(&record, probe, shapes, event).is_ok()
            }))
            .unwrap_or(false)
        };
        if direct {
            let json = |_: &EventBuf| render(record.clone());
            return self.direct_event(record_location, json, event, on_event);
        }
        let rendered = match catch_unwind(AssertUnwindSafe(|| record.into_json_bytes())) {
            Ok(Ok(rendered)) => rendered,
            Ok(Err(e)) => {
                self.problem(record_location, ProblemKind::EvtxRecord(error_chain(&e)));
                return ControlFlow::Continue(());
            }
            Err(panic) => {
                let location = Location::Chunk { chunk };
                self.problem(location, ProblemKind::EvtxPanic(panic_message(&*panic)));
                return ControlFlow::Break(Stop::Chunk);
            }
        };
        let Ok(json) = std::str::from_utf8(&rendered.data) else {
            let reason = "its JSON rendering is not UTF-8".to_string();
            self.problem(record_location, ProblemKind::EvtxRecord(reason));
            return ControlFlow::Continue(());
        };
        let layout = LayoutChoice::Fixed(Layout::WindowsNested);
        if let Err(fail) = flatten_event(json, 0, layout, event) {
            let reason = format!("its JSON rendering could not be read: {}", fail.error);
            self.problem(record_location, ProblemKind::EvtxRecord(reason));
            return ControlFlow::Continue(());
        }
        event.location = record_location;
        event.recovered = recovered;
        self.stats.events += 1;
        self.stats.evtx_rendered += 1;
        on_event(event.event(json.as_bytes())).map_break(|()| Stop::Hunt)
    }
}

/// What ends the reading of a chunk early.
enum Stop {
    /// The `evtx` crate panicked: the rest of the chunk is skipped (reported).
    Chunk,
    /// The caller asked to stop the whole read.
    Hunt,
}

/// What a chunk's reading returns after a record: `None` to go on to the next record.
fn chunk_flow(step: ControlFlow<Stop>) -> Option<ControlFlow<()>> {
    match step {
        ControlFlow::Continue(()) => None,
        ControlFlow::Break(Stop::Chunk) => Some(ControlFlow::Continue(())),
        ControlFlow::Break(Stop::Hunt) => Some(ControlFlow::Break(())),
    }
}

/// A record's JSON text as `evtx` renders it, or why it could not.
fn render(record: EvtxRecord<'_>) -> Result<Vec<u8>, String> {
    match catch_unwind(AssertUnwindSafe(|| record.into_json_bytes())) {
        Ok(Ok(rendered)) => Ok(rendered.data),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(panic) => Err(format!("panic: {}", panic_message(&*panic))),
    }
}

/// A live record found by [`RecordWalk`], before anything of its BinXML is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RawRecord {
    /// Its offset in the chunk.
    start: u64,
    id: u64,
    binxml_offset: u64,
    binxml_size: usize,
}

impl RawRecord {
    fn location(&self, chunk: u64) -> Location {
        Location::Record {
            chunk,
            record_id: Some(self.id),
            offset: Some(self.start),
        }
    }

    /// Where the record ends, its trailing size copy included.
    fn end(&self) -> u64 {
        self.binxml_offset + self.binxml_size as u64 + 4
    }
}

/// What [`RecordWalk`] found next.
#[derive(Debug, PartialEq, Eq)]
enum Walked {
    Record(RawRecord),
    /// Something other than a readable record header where the next record should start.
    Unusual(u64),
}

/// Walks a chunk's live records as `evtx`'s record iterator does, without building their
/// content (which is most of what the iterator costs): the same record header reading
/// (`EvtxRecordHeader::from_bytes_at`, `record_data_size`) and the same bounds, from the
/// chunk header to the free space or to the chunk's last record. It stops at the first
/// record header it cannot read, where the iterator would report an error and look for the
/// next record: the caller leaves the rest of the chunk to the iterator.
struct RecordWalk<'c> {
    data: &'c [u8],
    last_record_id: u64,
    live_end: u64,
    next: Option<u64>,
}

impl<'c> RecordWalk<'c> {
    fn new(data: &'c [u8], header: &EvtxChunkHeader) -> Self {
        RecordWalk {
            data,
            last_record_id: header.last_event_record_id,
            live_end: u64::from(header.free_space_offset).min(data.len() as u64),
            next: Some(CHUNK_HEADER_SIZE as u64),
        }
    }
}

impl Iterator for RecordWalk<'_> {
    type Item = Walked;

    fn next(&mut self) -> Option<Walked> {
        let start = self.next.take()?;
        if start >= self.live_end {
            return None;
        }
        let header = EvtxRecordHeader::from_bytes_at(self.data, start as usize).ok();
        let size = header.as_ref().and_then(|h| h.record_data_size().ok());
        let (Some(header), Some(size)) = (header, size) else {
            return Some(Walked::Unusual(start));
        };
        let binxml_offset = start + RECORD_HEADER_SIZE;
        if binxml_offset.saturating_add(u64::from(size)) > self.data.len() as u64 {
            return Some(Walked::Unusual(start));
        }
        if header.event_record_id != self.last_record_id {
            self.next = Some(start + u64::from(header.data_size));
        }
        Some(Walked::Record(RawRecord {
            start,
            id: header.event_record_id,
            binxml_offset,
            binxml_size: size as usize,
        }))
    }
}

/// `evtx`'s record iterator over a chunk, advanced only as far as a record that needs it
/// (one read through `evtx`, or one whose JSON an alert asks for).
struct EvtxRecords<'c> {
    data: &'c [u8],
    iter: IterChunkRecords<'c>,
    /// An item the iterator returned before it was asked for.
    ahead: Option<Result<EvtxRecord<'c>, EvtxError>>,
    /// The iterator panicked: it gives no more records.
    panicked: bool,
}

/// The record [`EvtxRecords::seek`] looked for, or why it has none.
enum Sought<'c> {
    Found(EvtxRecord<'c>),
    Failed(String),
}

impl<'c> EvtxRecords<'c> {
    fn new(data: &'c [u8], iter: IterChunkRecords<'c>) -> Self {
        EvtxRecords {
            data,
            iter,
            ahead: None,
            panicked: false,
        }
    }

    /// The iterator's next item; `Err` with the message when it panics (then, and after,
    /// nothing more comes).
    fn next(&mut self) -> Result<Option<Result<EvtxRecord<'c>, EvtxError>>, String> {
        if let Some(item) = self.ahead.take() {
            return Ok(Some(item));
        }
        if self.panicked {
            return Ok(None);
        }
        match catch_unwind(AssertUnwindSafe(|| self.iter.next())) {
            Ok(item) => Ok(item),
            Err(panic) => {
                self.panicked = true;
                Err(panic_message(&*panic))
            }
        }
    }

    /// The iterator's record for `raw`, skipping the records before it (read without it,
    /// so their errors were not theirs to report).
    fn seek(&mut self, raw: &RawRecord) -> Sought<'c> {
        if self.panicked && self.ahead.is_none() {
            return Sought::Failed("the evtx crate panicked earlier in this chunk".into());
        }
        loop {
            match self.next() {
                Err(panic) => return Sought::Failed(format!("the evtx crate panicked: {panic}")),
                Ok(None) => {
                    return Sought::Failed("the evtx crate found no such record".into());
                }
                Ok(Some(Ok(record))) if record.binxml_offset < raw.binxml_offset => {}
                Ok(Some(Ok(record))) if record.binxml_offset == raw.binxml_offset => {
                    return Sought::Found(record);
                }
                Ok(Some(item @ Ok(_))) => {
                    self.ahead = Some(item);
                    return Sought::Failed("the evtx crate found no such record".into());
                }
                Ok(Some(Err(e))) if is_about(&e, raw) => return Sought::Failed(error_chain(&e)),
                Ok(Some(Err(_))) => {}
            }
        }
    }

    /// Skip the items of the records before the record header at `offset`, which
    /// [`RecordWalk`] read, so that the next item is the iterator's for `offset` or later.
    fn skip_before(&mut self, offset: u64) {
        loop {
            match self.next() {
                Err(_) | Ok(None) => return,
                Ok(Some(Ok(record))) if record.binxml_offset < offset + RECORD_HEADER_SIZE => {}
                // A record the walk read whose content `evtx` could not build.
                Ok(Some(Err(EvtxError::FailedToParseRecord { .. }))) => {}
                Ok(Some(item)) => {
                    self.ahead = Some(item);
                    return;
                }
            }
        }
    }
}

/// Whether an error of `evtx`'s iterator is about the record `raw`.
fn is_about(error: &EvtxError, raw: &RawRecord) -> bool {
    match *error {
        EvtxError::FailedToParseRecord { record_id, .. } => record_id == raw.id,
        EvtxError::FailedToReadRecordAt { offset, .. } => offset == raw.start,
        _ => false,
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
    use super::{
        CHUNK_MAGIC, CHUNK_SIZE, ChunkBuffer, ChunkExtent, FIRST_READ, LazyJson, RawRecord,
        RecordWalk, Walked, all_zero, read_chunk,
    };
    use evtx::err::EvtxError;
    use evtx::{EvtxChunkData, EvtxChunkHeader, ParserSettings};
    use std::cell::Cell;
    use std::io::Write;
    use std::sync::Arc;

    /// A FILETIME in 2021.
    const TIME: u64 = 132_500_000_000_000_000;

    /// A chunk of records `(id, BinXML length, FILETIME)` from offset 512 on, with the given
    /// last record id and free space offset (`None`: just after the records). The BinXML is
    /// filler that `evtx` cannot build content from.
    fn chunk(records: &[(u64, usize, u64)], last_id: u64, free: Option<u32>) -> Vec<u8> {
        let mut data = vec![0u8; CHUNK_SIZE as usize];
        data[..8].copy_from_slice(b"ElfChnk\0");
        let first_id = records.first().map_or(1, |r| r.0);
        data[8..16].copy_from_slice(&first_id.to_le_bytes());
        data[16..24].copy_from_slice(&last_id.to_le_bytes());
        data[24..32].copy_from_slice(&first_id.to_le_bytes());
        data[32..40].copy_from_slice(&last_id.to_le_bytes());
        data[40..44].copy_from_slice(&128u32.to_le_bytes());
        let mut at = 512;
        for &(id, binxml, filetime) in records {
            let size = (24 + binxml + 4) as u32;
            data[at..at + 4].copy_from_slice(b"\x2a\x2a\0\0");
            data[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
            data[at + 8..at + 16].copy_from_slice(&id.to_le_bytes());
            data[at + 16..at + 24].copy_from_slice(&filetime.to_le_bytes());
            data[at + 24..at + 24 + binxml].fill(0xee);
            let end = at + size as usize;
            data[end - 4..end].copy_from_slice(&size.to_le_bytes());
            data[44..48].copy_from_slice(&(at as u32).to_le_bytes());
            at = end;
        }
        let free = free.unwrap_or(at as u32);
        data[48..52].copy_from_slice(&free.to_le_bytes());
        data
    }

    fn walk(data: &[u8]) -> Vec<Walked> {
        let header = EvtxChunkHeader::from_bytes(data).expect("chunk header");
        RecordWalk::new(data, &header).collect()
    }

    fn record(start: u64, id: u64, binxml: usize) -> Walked {
        Walked::Record(RawRecord {
            start,
            id,
            binxml_offset: start + 24,
            binxml_size: binxml,
        })
    }

    /// The record ids `evtx`'s own iterator meets, built or not.
    fn evtx_ids(data: Vec<u8>) -> Vec<u64> {
        let mut chunk = EvtxChunkData::new(data, false).expect("chunk");
        let mut parsed = chunk.parse(Arc::new(ParserSettings::new())).expect("parse");
        parsed
            .iter()
            .map(|item| match item {
                Ok(record) => record.event_record_id,
                Err(EvtxError::FailedToParseRecord { record_id, .. }) => record_id,
                Err(other) => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_walk_finds_the_records_evtx_finds() {
        // To the free space.
        let data = chunk(&[(7, 10, TIME), (8, 30, TIME), (9, 4, TIME)], 9, None);
        assert_eq!(
            walk(&data),
            [record(512, 7, 10), record(550, 8, 30), record(608, 9, 4)]
        );
        assert_eq!(evtx_ids(data), [7, 8, 9]);
        // Not past the chunk's last record, whatever the free space says.
        let data = chunk(
            &[(7, 10, TIME), (8, 30, TIME), (9, 4, TIME)],
            8,
            Some(60_000),
        );
        assert_eq!(walk(&data), [record(512, 7, 10), record(550, 8, 30)]);
        assert_eq!(evtx_ids(data), [7, 8]);
        // Not into the free space.
        let data = chunk(&[(7, 10, TIME), (8, 30, TIME)], 8, Some(550));
        assert_eq!(walk(&data), [record(512, 7, 10)]);
        assert_eq!(evtx_ids(data), [7]);
        // An empty chunk.
        let data = chunk(&[], 0, None);
        assert_eq!(walk(&data), []);
        assert_eq!(evtx_ids(data), Vec::<u64>::new());
    }

    #[test]
    fn the_walk_stops_where_a_record_header_cannot_be_read() {
        let records = [(7, 10, TIME), (8, 30, TIME), (9, 4, TIME)];
        let unusual = [record(512, 7, 10), Walked::Unusual(550)];
        // No record magic.
        let mut data = chunk(&records, 9, None);
        data[550] = 0;
        assert_eq!(walk(&data), unusual);
        // A size smaller than a record's header and size copy.
        let mut data = chunk(&records, 9, None);
        data[554..558].copy_from_slice(&27u32.to_le_bytes());
        assert_eq!(walk(&data), unusual);
        // A size past the chunk's end.
        let mut data = chunk(&records, 9, None);
        data[554..558].copy_from_slice(&70_000u32.to_le_bytes());
        assert_eq!(walk(&data), unusual);
        // A time `evtx` cannot read.
        let data = chunk(&[(7, 10, TIME), (8, 30, u64::MAX), (9, 4, TIME)], 9, None);
        assert_eq!(walk(&data), unusual);
        // A header cut by the chunk's end.
        let mut data = chunk(&records, 9, Some(65_535));
        data.truncate(560);
        assert_eq!(walk(&data), unusual);
    }

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

    /// A buffer as a previous chunk read in full left it.
    fn used_buffer() -> ChunkBuffer {
        ChunkBuffer {
            bytes: vec![0xaa; CHUNK_SIZE as usize],
            dirty: CHUNK_SIZE as usize,
        }
    }

    #[test]
    fn a_short_read_leaves_zeroes_not_the_previous_chunk() {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&[7u8; 100]).expect("write");
        let mut buffer = used_buffer();
        let read = read_chunk(&file, (40, 100), ChunkExtent::Used, &mut buffer).expect("read");
        assert_eq!(read, 60);
        assert_eq!(buffer.bytes.len(), CHUNK_SIZE as usize);
        assert!(buffer.bytes[..60].iter().all(|&b| b == 7));
        assert!(all_zero(&buffer.bytes[60..]));
        // And from an empty buffer.
        let mut buffer = ChunkBuffer::default();
        let read = read_chunk(&file, (0, 100), ChunkExtent::Used, &mut buffer).expect("read");
        assert_eq!(read, 100);
        assert_eq!(buffer.bytes.len(), CHUNK_SIZE as usize);
        assert!(all_zero(&buffer.bytes[100..]));
        // A file that shrank since its length was taken.
        let mut buffer = used_buffer();
        let read = read_chunk(&file, (0, 70_000), ChunkExtent::Whole, &mut buffer).expect("read");
        assert_eq!(read, 100);
        assert!(all_zero(&buffer.bytes[100..]));
    }

    /// A file of one chunk whose header puts the free space at `free` and whose every byte
    /// after the header is 7 (stale records, as far as a reader knows).
    fn chunk_file(magic: &[u8], free: u32) -> std::fs::File {
        let mut bytes = vec![7u8; CHUNK_SIZE as usize];
        bytes[..8].copy_from_slice(magic);
        bytes[48..52].copy_from_slice(&free.to_le_bytes());
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&bytes).expect("write");
        file
    }

    #[test]
    fn a_chunk_is_read_up_to_its_free_space_unless_asked_whole() {
        use ChunkExtent::{Used, UsedOrUnused, Whole};
        let len = CHUNK_SIZE;
        let read = |file: &std::fs::File, extent: ChunkExtent| {
            let mut buffer = used_buffer();
            let available = read_chunk(file, (0, len), extent, &mut buffer).expect("read");
            let read = buffer
                .bytes
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |at| at + 1);
            (available, read)
        };
        // Past the first read, to the free space; the file holds the whole chunk.
        let file = chunk_file(CHUNK_MAGIC, 40_000);
        assert_eq!(read(&file, Used), (65_536, 40_000));
        assert_eq!(read(&file, UsedOrUnused), (65_536, 40_000));
        assert_eq!(read(&file, Whole), (65_536, 65_536));
        // Within the first read.
        assert_eq!(
            read(&chunk_file(CHUNK_MAGIC, 600), Used),
            (65_536, FIRST_READ)
        );
        // A free space past the chunk's end, or not a chunk: all of it.
        assert_eq!(
            read(&chunk_file(CHUNK_MAGIC, u32::MAX), Used),
            (65_536, 65_536)
        );
        assert_eq!(
            read(&chunk_file(b"NotChnk\0", 600), UsedOrUnused),
            (65_536, 65_536)
        );
        // No header and zeroes where it would be: unused space only past the chunks the file
        // header counts; within them, read whole so that the damage is told.
        let mut unused = vec![0u8; CHUNK_SIZE as usize];
        unused[FIRST_READ..].fill(7);
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&unused).expect("write");
        assert_eq!(read(&file, UsedOrUnused), (65_536, 0));
        assert_eq!(read(&file, Used), (65_536, 65_536));
        assert_eq!(read(&file, Whole), (65_536, 65_536));
    }

    #[test]
    fn a_buffer_is_zero_past_each_chunk_read_whatever_came_before() {
        let small = chunk_file(CHUNK_MAGIC, 20_000);
        let large = chunk_file(CHUNK_MAGIC, 50_000);
        let mut zeroes = tempfile::tempfile().expect("temp file");
        zeroes.write_all(&[0; CHUNK_SIZE as usize]).expect("write");
        let mut buffer = ChunkBuffer::default();
        // Each read leaves the file's bytes up to its end and zeroes past it.
        use ChunkExtent::{Used, UsedOrUnused, Whole};
        for (file, extent, end) in [
            (&large, Whole, 65_536),
            (&small, Used, 20_000),
            (&large, Used, 50_000),
            (&small, Used, 20_000),
            (&zeroes, UsedOrUnused, 0),
            (&small, Used, 20_000),
            (&zeroes, Used, 0),
            (&large, Used, 50_000),
        ] {
            let available = read_chunk(file, (0, CHUNK_SIZE), extent, &mut buffer).expect("read");
            assert_eq!(buffer.is_zero(available), end == 0);
            assert!(
                buffer.bytes[52.min(end)..end].iter().all(|&b| b == 7),
                "to {end}"
            );
            assert!(all_zero(&buffer.bytes[end..]), "past {end}");
        }
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
