//! Read JSON text — JSON Lines, a JSON array of objects, concatenated (also pretty-printed)
//! objects, `evtx_dump` output with `Record N` lines — as a stream of events.
//!
//! The text is read through a buffer that holds at most one event plus one block, so a file or
//! standard input of any size is read in bounded memory. After anything that is not an event
//! (invalid JSON, stray text, an event over the size limit) one problem is reported and
//! reading resumes at the next line that starts with `{` (or `Record `) in column 0: every
//! event of JSON Lines starts there, and the nested lines of a pretty-printed event are
//! indented, so a bad event never hides the good ones after it.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::flatten::flatten_event;
use crate::json;
use crate::problem::{Location, ProblemKind, ReadError, ReadProblem, UnitStats};
use crate::{Event, EventBuf, LayoutChoice};

/// How much is read from the source at a time.
const BLOCK: usize = 1 << 20;

/// What a text read needs besides the source.
pub(crate) struct TextRead<'a> {
    pub(crate) path: &'a Arc<Path>,
    /// Byte offset of the first byte read in the source.
    pub(crate) base: u64,
    /// Whether the read starts at the first line of the source (so line numbers are known).
    pub(crate) from_start: bool,
    pub(crate) layout: LayoutChoice,
    pub(crate) max_event_bytes: usize,
}

/// Read every event of `reader`.
pub(crate) fn read_text<R: Read>(
    reader: R,
    read: &TextRead<'_>,
    buffer: &mut Vec<u8>,
    event: &mut EventBuf,
    on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
    on_problem: &mut dyn FnMut(ReadProblem),
) -> Result<UnitStats, ReadError> {
    let mut stream = Stream {
        reader,
        storage: buffer,
        end: 0,
        pos: 0,
        eof: false,
        array: false,
        base: read.base,
        line: read.from_start.then_some(1),
        line_pos: 0,
        path: read.path,
        stats: UnitStats::default(),
    };
    stream.run(read, event, on_event, on_problem)?;
    Ok(stream.stats)
}

struct Stream<'a, R> {
    reader: R,
    /// Zero-initialised storage whose first `end` bytes are the bytes read and not yet
    /// dropped (`data()`); `data()[0]` is at `base` in the source. Kept initialised so that
    /// reading into it needs no zeroing per block.
    storage: &'a mut Vec<u8>,
    end: usize,
    pos: usize,
    eof: bool,
    /// Inside a top-level JSON array, where `,` and `]` separate events.
    array: bool,
    base: u64,
    /// Line number of `data[line_pos]`, when known.
    line: Option<u64>,
    line_pos: usize,
    path: &'a Arc<Path>,
    stats: UnitStats,
}

impl<R: Read> Stream<'_, R> {
    fn run(
        &mut self,
        read: &TextRead<'_>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
        on_problem: &mut dyn FnMut(ReadProblem),
    ) -> Result<(), ReadError> {
        if read.base == 0 && self.check_encoding(on_problem)? {
            return Ok(());
        }
        loop {
            self.skip_separators();
            if self.pos == self.end {
                if self.eof {
                    if self.array {
                        let kind = ProblemKind::Json(crate::JsonError::Truncated);
                        self.problem(self.end, kind, on_problem);
                    }
                    return Ok(());
                }
                self.refill(self.pos)?;
                continue;
            }
            let byte = self.data()[self.pos];
            match byte {
                b'{' => {
                    if self.event(read, event, on_event, on_problem)?.is_break() {
                        self.stats.stopped = true;
                        return Ok(());
                    }
                }
                b'[' if !self.array => {
                    self.array = true;
                    self.pos += 1;
                }
                b'R' if self.at_line_start() && self.record_line()? => {}
                _ => {
                    let at = self.pos;
                    self.problem(at, ProblemKind::UnexpectedText, on_problem);
                    self.resync(at)?;
                }
            }
        }
    }

    /// Read the event at `pos`.
    ///
    /// The event is parsed from a region of the buffer that is checked as UTF-8 once: first
    /// its line (JSON Lines), then, while the object is still open, up to the next line that
    /// starts with `{` (pretty-printed events), then more input.
    fn event(
        &mut self,
        read: &TextRead<'_>,
        event: &mut EventBuf,
        on_event: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>,
        on_problem: &mut dyn FnMut(ReadProblem),
    ) -> Result<ControlFlow<()>, ReadError> {
        let mut region_end = self.line_end(self.pos);
        loop {
            let start = self.pos;
            let region = &self.data()[start..region_end];
            let (text, bad_utf8) = match std::str::from_utf8(region) {
                Ok(text) => (text, None),
                Err(e) => {
                    let valid = &region[..e.valid_up_to()];
                    let text = std::str::from_utf8(valid).unwrap_or_default();
                    (
                        text,
                        Some((start + e.valid_up_to(), e.error_len().is_none())),
                    )
                }
            };
            let outcome = flatten_event(text, 0, read.layout, event);
            let too_large = ProblemKind::EventTooLarge {
                limit: read.max_event_bytes,
            };
            match outcome {
                Ok(len) if len > read.max_event_bytes => {
                    self.problem(start, too_large, on_problem);
                    self.pos = start + len;
                }
                Ok(len) => {
                    let line = self.commit_line(start);
                    event.location = Location::Text {
                        line,
                        byte_offset: self.base + start as u64,
                    };
                    self.stats.events += 1;
                    self.pos = start + len;
                    return Ok(on_event(event.event(&self.data()[start..start + len])));
                }
                Err(fail) if fail.is_eof() => match bad_utf8 {
                    // A character cut by the end of the buffer: read on.
                    Some((_, true)) if !self.eof && region_end == self.end => {
                        self.refill(start)?;
                        region_end = self.end;
                        continue;
                    }
                    Some((at, _)) => {
                        let kind = ProblemKind::Json(crate::JsonError::InvalidUtf8);
                        self.problem(at, kind, on_problem);
                        self.resync(start)?;
                    }
                    None if region_end - start > read.max_event_bytes => {
                        self.problem(start, too_large, on_problem);
                        self.resync(start)?;
                    }
                    None if region_end < self.end => {
                        region_end = self.next_event_line(region_end);
                        continue;
                    }
                    None if !self.eof => {
                        self.refill(start)?;
                        region_end = self.end;
                        continue;
                    }
                    None => {
                        let kind = ProblemKind::Json(fail.error);
                        self.problem(start + fail.pos, kind, on_problem);
                        self.resync(start)?;
                    }
                },
                Err(fail) => {
                    // A cut-off line is reported where it starts, not where the next begins.
                    let at = if fail.error == crate::JsonError::LineCutOff {
                        start
                    } else {
                        start + fail.pos
                    };
                    self.problem(at, ProblemKind::Json(fail.error), on_problem);
                    self.resync(start)?;
                }
            }
            return Ok(ControlFlow::Continue(()));
        }
    }

    /// The position after the newline that ends the line at `from` (the buffer's end if none).
    fn line_end(&self, from: usize) -> usize {
        memchr::memchr(b'\n', &self.data()[from..]).map_or(self.end, |i| from + i + 1)
    }

    /// The start of the first line after the one at `from` that starts with `{`, or the
    /// buffer's end: always past `from`.
    fn next_event_line(&self, from: usize) -> usize {
        memchr::memmem::find(&self.data()[from..], b"\n{").map_or(self.end, |i| from + i + 1)
    }

    /// Report UTF-16 text (and stop), skip a UTF-8 byte-order mark. Returns whether to stop.
    fn check_encoding(
        &mut self,
        on_problem: &mut dyn FnMut(ReadProblem),
    ) -> Result<bool, ReadError> {
        while self.end < 8 && !self.eof {
            self.refill(0)?;
        }
        let head = &self.data()[..self.end.min(4)];
        let utf16 = head.starts_with(&[0xFF, 0xFE])
            || head.starts_with(&[0xFE, 0xFF])
            || (head.len() >= 2 && (head[0] == 0 || head[1] == 0));
        if utf16 {
            self.problem(0, ProblemKind::Utf16, on_problem);
            return Ok(true);
        }
        // Only standard input gets here with EVTX data: discovery sends files to the EVTX reader.
        if self.data().starts_with(crate::evtx::FILE_MAGIC) {
            self.problem(0, ProblemKind::EvtxOnStdin, on_problem);
            return Ok(true);
        }
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos = 3;
        }
        Ok(false)
    }

    /// Skip whitespace, and the `,` and `]` of a top-level array.
    fn skip_separators(&mut self) {
        loop {
            self.pos = json::skip_ws_bytes(self.data(), self.pos);
            match self.data().get(self.pos) {
                Some(b',') if self.array => self.pos += 1,
                Some(b']') if self.array => {
                    self.array = false;
                    self.pos += 1;
                }
                _ => return,
            }
        }
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.data()[self.pos - 1] == b'\n'
    }

    /// Skip an `evtx_dump` `Record N` line at `pos`; false if the line is something else.
    fn record_line(&mut self) -> Result<bool, ReadError> {
        loop {
            let rest = &self.data()[self.pos..];
            if !b"Record ".starts_with(&rest[..rest.len().min(7)]) {
                return Ok(false);
            }
            if let Some(newline) = memchr::memchr(b'\n', rest) {
                if rest.len() < 7 {
                    return Ok(false);
                }
                self.pos += newline + 1;
                return Ok(true);
            }
            if self.eof {
                let is_record = rest.len() >= 7;
                if is_record {
                    self.pos = self.end;
                }
                return Ok(is_record);
            }
            self.refill(self.pos)?;
        }
    }

    /// Resume at the first line after `from` that starts with `{` or `Record `.
    fn resync(&mut self, from: usize) -> Result<(), ReadError> {
        let mut p = from;
        loop {
            let Some(found) = memchr::memchr(b'\n', &self.data()[p..]) else {
                if self.eof {
                    self.pos = self.end;
                    return Ok(());
                }
                let len = self.end;
                self.refill(len)?;
                p = 0;
                continue;
            };
            let next = p + found + 1;
            let rest = &self.data()[next..];
            if rest.len() < 7 && !self.eof {
                // Not enough of the next line to judge: keep its newline and read on.
                let newline = next - 1;
                self.refill(newline)?;
                p = 0;
                continue;
            }
            if rest.first() == Some(&b'{') || rest.starts_with(b"Record ") {
                self.pos = next;
                return Ok(());
            }
            p = next;
        }
    }

    fn problem(&mut self, at: usize, kind: ProblemKind, on_problem: &mut dyn FnMut(ReadProblem)) {
        self.stats.problems += 1;
        let line = self
            .line
            .map(|line| line + newlines(&self.data()[self.line_pos..at]));
        on_problem(ReadProblem {
            path: Arc::clone(self.path),
            location: Location::Text {
                line,
                byte_offset: self.base + at as u64,
            },
            kind,
        });
    }

    /// The line number of `at` (not before the last committed position), committed.
    fn commit_line(&mut self, at: usize) -> Option<u64> {
        let line = self.line? + newlines(&self.data()[self.line_pos..at]);
        self.line = Some(line);
        self.line_pos = at;
        Some(line)
    }

    /// Drop the bytes before `keep` and read the next block. Sets `eof` at the end.
    fn refill(&mut self, keep: usize) -> Result<(), ReadError> {
        if keep > 0 {
            if self.line.is_some() && keep > self.line_pos {
                self.commit_line(keep);
            }
            self.line_pos = self.line_pos.saturating_sub(keep);
            self.storage.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.base += keep as u64;
            self.pos = self.pos.saturating_sub(keep);
        }
        if self.storage.len() < self.end + BLOCK {
            // `vec!` gets zeroed pages from the allocator, cheaper than zeroing in place.
            let mut bigger = vec![0; self.end + BLOCK];
            bigger[..self.end].copy_from_slice(&self.storage[..self.end]);
            *self.storage = bigger;
        }
        let read = loop {
            match self.reader.read(&mut self.storage[self.end..]) {
                Ok(read) => break read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = self.base + self.end as u64;
                    return Err(ReadError::io(self.path, format!("read at byte {at}"), e));
                }
            }
        };
        self.end += read;
        if read == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// The bytes read and not yet dropped.
    fn data(&self) -> &[u8] {
        &self.storage[..self.end]
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}
