//! A bounds-checked reader over a window of a chunk: the definition reader and the value
//! reader both walk BinXML with it, and nothing it reads lies outside the window.

pub(super) struct Cursor<'c> {
    pub(super) chunk: &'c [u8],
    pub(super) pos: usize,
    /// Where the window ends (never past the chunk's end).
    pub(super) end: usize,
}

impl<'c> Cursor<'c> {
    /// A cursor over `chunk[start..end]`; `None` when that is not inside the chunk.
    pub(super) fn new(chunk: &'c [u8], start: usize, end: usize) -> Option<Cursor<'c>> {
        (start <= end && end <= chunk.len()).then_some(Cursor {
            chunk,
            pos: start,
            end,
        })
    }

    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize) -> Option<&'c [u8]> {
        let end = self.pos.checked_add(n)?;
        if end > self.end {
            return None;
        }
        let bytes = self.chunk.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    pub(super) fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        self.bytes::<1>().map(|[b]| b)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        self.bytes().map(u16::from_le_bytes)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        self.bytes().map(u32::from_le_bytes)
    }

    /// The next byte, not consumed.
    pub(super) fn peek(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.chunk.get(self.pos).copied())?
    }

    /// What is left of the window (empty once the position passed its end).
    pub(super) fn rest(&self) -> &'c [u8] {
        self.chunk.get(self.pos..self.end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn reads_stay_inside_the_window() {
        let chunk = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let mut at = Cursor::new(&chunk, 2, 7).expect("inside");
        assert_eq!(at.peek(), Some(3));
        assert_eq!(at.u16(), Some(0x0403));
        assert_eq!(at.rest(), &[5, 6, 7]);
        // Four bytes are there in the chunk but not in the window.
        assert_eq!(at.u32(), None);
        assert_eq!(at.take(3), Some(&[5u8, 6, 7][..]));
        assert_eq!(at.peek(), None);
        assert_eq!(at.u8(), None);
        assert!(at.rest().is_empty());
        assert!(Cursor::new(&chunk, 0, 9).is_none());
        assert!(Cursor::new(&chunk, 5, 4).is_none());
        // A position moved past the end reads nothing.
        let mut at = Cursor::new(&chunk, 0, 4).expect("inside");
        at.pos = 6;
        assert_eq!((at.peek(), at.u8(), at.rest()), (None, None, &[][..]));
    }
}
