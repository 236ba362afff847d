//! Sorted runs that spill to disk: what keeps `strata analyze`'s memory independent of the
//! image. Items are pushed in any order; past [`SPILL`] items, the buffer is sorted and
//! written to an unnamed temporary file (`O_TMPFILE`: nothing is left behind, even if the
//! process is killed). [`merge`] then reads every run of every layer in one sorted stream.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Items a run holds in memory before it spills.
pub const SPILL: usize = 4_096;

/// A finished run with more items than this spills too, so that after a walk no more than
/// this many items per layer stay in memory.
pub const KEEP: usize = 1_024;

/// Read buffer of each spilled run while merging.
const READ_BUFFER: usize = 16 << 10;

/// An item of a run: a total order and a byte encoding.
pub trait Item: Sized + Send {
    fn order(&self, other: &Self) -> Ordering;
    fn encode(&self, w: &mut impl Write) -> io::Result<()>;
    /// `None` at the end of the stream.
    fn decode(r: &mut impl Read) -> io::Result<Option<Self>>;
}

/// Items being collected: a sorted-on-spill buffer and the runs already on disk.
pub struct Runs<T> {
    buffer: Vec<T>,
    spilled: Vec<File>,
    limit: usize,
}

impl<T: Item> Default for Runs<T> {
    fn default() -> Runs<T> {
        Runs::with_limit(SPILL)
    }
}

impl<T: Item> Runs<T> {
    /// Spills every `limit` items.
    pub fn with_limit(limit: usize) -> Runs<T> {
        Runs {
            buffer: Vec::new(),
            spilled: Vec::new(),
            limit: limit.max(1),
        }
    }

    pub fn push(&mut self, item: T) -> io::Result<()> {
        self.buffer.push(item);
        if self.buffer.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk.
    pub fn spilled(&self) -> usize {
        self.spilled.len()
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buffer.sort_by(T::order);
        let mut file = tempfile::tempfile()?;
        {
            let mut w = BufWriter::with_capacity(1 << 16, &mut file);
            for item in self.buffer.drain(..) {
                item.encode(&mut w)?;
            }
            w.flush()?;
        }
        file.rewind()?;
        self.spilled.push(file);
        Ok(())
    }

    /// No more items: the rest of the buffer is spilled too unless it is small (at most
    /// [`KEEP`] items) and nothing else spilled, so a finished collection holds little.
    pub fn seal(&mut self) -> io::Result<()> {
        let small = self.buffer.len() <= KEEP.min(self.limit);
        if !self.buffer.is_empty() && (!self.spilled.is_empty() || !small) {
            self.spill()?;
        }
        Ok(())
    }

    /// The sorted runs: the spilled ones and what [`Runs::seal`] kept.
    pub fn finish(mut self) -> io::Result<Vec<Run<T>>> {
        self.seal()?;
        self.buffer.sort_by(T::order);
        let mut runs: Vec<Run<T>> = self
            .spilled
            .into_iter()
            .map(|f| Run::Disk(BufReader::with_capacity(READ_BUFFER, f)))
            .collect();
        if !self.buffer.is_empty() {
            runs.push(Run::Memory(self.buffer.into_iter()));
        }
        Ok(runs)
    }
}

/// One sorted run.
pub enum Run<T> {
    Memory(std::vec::IntoIter<T>),
    Disk(BufReader<File>),
}

impl<T: Item> Run<T> {
    fn next_item(&mut self) -> io::Result<Option<T>> {
        match self {
            Run::Memory(items) => Ok(items.next()),
            Run::Disk(r) => T::decode(r),
        }
    }
}

/// The head of a run in the merge heap (a min-heap through the reversed order).
struct Head<T> {
    item: T,
    run: usize,
}

impl<T: Item> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: Item> Eq for Head<T> {}
impl<T: Item> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Item> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .item
            .order(&self.item)
            .then_with(|| other.run.cmp(&self.run))
    }
}

/// Every item of `runs`, in order (ties in run order).
pub struct Merge<T> {
    runs: Vec<Run<T>>,
    heap: BinaryHeap<Head<T>>,
}

/// Starts merging `runs`.
pub fn merge<T: Item>(mut runs: Vec<Run<T>>) -> io::Result<Merge<T>> {
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (run, r) in runs.iter_mut().enumerate() {
        if let Some(item) = r.next_item()? {
            heap.push(Head { item, run });
        }
    }
    Ok(Merge { runs, heap })
}

impl<T: Item> Iterator for Merge<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        let Head { item, run } = self.heap.pop()?;
        match self.runs[run].next_item() {
            Ok(Some(next)) => self.heap.push(Head { item: next, run }),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(item))
    }
}

/// Writes a length-prefixed string.
pub fn put_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// Reads a length-prefixed string; `None` at a clean end of stream.
pub fn get_str(r: &mut impl Read) -> io::Result<Option<String>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut bytes)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads `N` bytes.
pub fn get<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct N(u64, String);

    impl Item for N {
        fn order(&self, other: &Self) -> Ordering {
            self.0.cmp(&other.0)
        }
        fn encode(&self, w: &mut impl Write) -> io::Result<()> {
            put_str(w, &self.1)?;
            w.write_all(&self.0.to_le_bytes())
        }
        fn decode(r: &mut impl Read) -> io::Result<Option<Self>> {
            let Some(s) = get_str(r)? else {
                return Ok(None);
            };
            Ok(Some(N(u64::from_le_bytes(get(r)?), s)))
        }
    }

    #[test]
    fn spilled_and_buffered_runs_merge_in_order() {
        let mut a = Runs::with_limit(3);
        let mut b = Runs::with_limit(100);
        for v in [9u64, 1, 7, 3, 8, 2, 6] {
            a.push(N(v, format!("a{v}"))).unwrap();
        }
        for v in [5u64, 4, 0] {
            b.push(N(v, format!("b{v}"))).unwrap();
        }
        assert_eq!(a.spilled(), 2);
        let mut runs = a.finish().unwrap();
        assert_eq!(runs.len(), 3, "the rest of a spilled run spills too");
        assert!(runs.iter().all(|r| matches!(r, Run::Disk(_))));
        runs.extend(b.finish().unwrap());
        let all: Vec<u64> = merge(runs).unwrap().map(|n| n.unwrap().0).collect();
        assert_eq!(all, (0..10).collect::<Vec<u64>>());
    }
}
