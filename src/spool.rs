//! An append-only list whose memory does not grow with its length: the first items stay in
//! memory, the rest go as JSON to an anonymous temporary file and are read back, in order,
//! when visited. The report keeps one entry per input file and per pipeline until the end of
//! the run (renderers close with those lists); with a spool, auditing 10,000 files takes no
//! more memory than auditing 1,000.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Items kept in memory before the spool starts writing to disk. A run over a typical
/// repository never touches the disk; past this, each item costs a few hundred bytes of I/O
/// instead of a few hundred bytes of memory. 4,096 such items are 1–2 MB; the temporary
/// file costs more than its bytes (creating it on a disk-backed `/tmp`, serialising and
/// reading back): 1 % of a run over the 1,708-file corpus when the bound was 1,024
/// (`docs/performance.md`, "Session 16").
pub const IN_MEMORY: usize = 4096;

pub struct Spool<T> {
    kept: Vec<T>,
    in_memory: usize,
    spilled: Option<Spilled>,
    /// The first failure to create or write the temporary file. Items pushed after it are
    /// lost, so visiting the spool reports it instead of a shortened list.
    error: Option<io::Error>,
}

struct Spilled {
    writer: BufWriter<File>,
    count: usize,
}

impl<T> Default for Spool<T> {
    fn default() -> Self {
        Self::new(IN_MEMORY)
    }
}

impl<T> std::fmt::Debug for Spool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("len", &self.len())
            .field("spilled", &self.spilled.as_ref().map_or(0, |s| s.count))
            .finish()
    }
}

impl<T> Spool<T> {
    /// A spool that keeps its first `in_memory` items in memory.
    pub fn new(in_memory: usize) -> Self {
        Self { kept: Vec::new(), in_memory, spilled: None, error: None }
    }

    pub fn len(&self) -> usize {
        self.kept.len() + self.spilled.as_ref().map_or(0, |spilled| spilled.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Serialize + DeserializeOwned> Spool<T> {
    pub fn push(&mut self, item: T) {
        if self.kept.len() < self.in_memory {
            self.kept.push(item);
            return;
        }
        if self.error.is_some() {
            return;
        }
        if let Err(error) = self.spill(&item) {
            self.error = Some(error);
        }
    }

    fn spill(&mut self, item: &T) -> io::Result<()> {
        let spilled = match &mut self.spilled {
            Some(spilled) => spilled,
            None => {
                let file = tempfile::tempfile().map_err(|error| {
                    let directory = std::env::temp_dir();
                    io::Error::new(error.kind(), format!("cannot create it in {}: {error}", directory.display()))
                })?;
                self.spilled.insert(Spilled { writer: BufWriter::new(file), count: 0 })
            }
        };
        serde_json::to_writer(&mut spilled.writer, item)?;
        spilled.writer.write_all(b"\n")?;
        spilled.count += 1;
        Ok(())
    }

    /// Writes out what is still buffered; call once every item is pushed.
    pub fn finish(&mut self) {
        if let (Some(spilled), None) = (&mut self.spilled, &self.error)
            && let Err(error) = spilled.writer.flush()
        {
            self.error = Some(error);
        }
    }

    /// Calls `visit` on every item in the order they were pushed. Not re-entrant: the
    /// items on disk are read through one shared file position.
    pub fn for_each(&self, mut visit: impl FnMut(&T) -> io::Result<()>) -> io::Result<()> {
        if let Some(error) = &self.error {
            return Err(io::Error::new(error.kind(), format!("the report's temporary file failed: {error}")));
        }
        self.kept.iter().try_for_each(&mut visit)?;
        let Some(spilled) = &self.spilled else { return Ok(()) };
        if !spilled.writer.buffer().is_empty() {
            return Err(io::Error::other("the report's temporary file was read before it was finished"));
        }
        let mut file = spilled.writer.get_ref().try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        // One item per line (JSON strings escape line breaks). Parsing a line held in memory
        // is several times cheaper than parsing from the reader byte by byte.
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        for _ in 0..spilled.count {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the report's temporary file is truncated"));
            }
            visit(&serde_json::from_slice(&line)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visited(spool: &Spool<(u32, String)>) -> Vec<(u32, String)> {
        let mut items = Vec::new();
        spool
            .for_each(|item| {
                items.push(item.clone());
                Ok(())
            })
            .expect("visit the spool");
        items
    }

    #[test]
    fn keeps_order_across_memory_and_disk() {
        let mut spool = Spool::new(3);
        let items: Vec<(u32, String)> = (0..10).map(|i| (i, format!("item \"{i}\"\n"))).collect();
        items.iter().cloned().for_each(|item| spool.push(item));
        spool.finish();
        assert_eq!(spool.len(), 10);
        assert!(spool.spilled.is_some(), "items past the first 3 go to disk");
        assert_eq!(visited(&spool), items);
        // A second visit reads the file again from its start.
        assert_eq!(visited(&spool), items);
    }

    #[test]
    fn small_spool_never_creates_a_file() {
        let mut spool = Spool::new(3);
        spool.push((1, "one".to_string()));
        spool.finish();
        assert!(spool.spilled.is_none());
        assert_eq!(visited(&spool), vec![(1, "one".to_string())]);
    }

    #[test]
    fn visiting_before_finish_is_an_error_not_a_short_list() {
        let mut spool = Spool::new(0);
        spool.push((1, "one".to_string()));
        assert!(spool.for_each(|_| Ok(())).is_err());
    }

    #[test]
    fn a_visit_error_stops_the_visit() {
        let mut spool = Spool::new(1);
        (0..4).for_each(|i| spool.push((i, String::new())));
        spool.finish();
        let mut seen = 0;
        let result = spool.for_each(|_| {
            seen += 1;
            if seen == 2 { Err(io::Error::other("stop")) } else { Ok(()) }
        });
        assert!(result.is_err());
        assert_eq!(seen, 2);
    }
}
