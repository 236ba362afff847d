//! The container log in docker's json-file format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"RFC 3339 nanos"}`, so that
//! `logs --timestamps` and `--tail` need no other index.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{io_err, Result};

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The line, with its `\n` (the last line of a stream may lack it).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When the monitor read it (RFC 3339, nanoseconds, UTC).
    pub time: String,
}

/// Splits a stream into lines and appends each as a [`Record`].
pub struct LineWriter<W: Write> {
    out: W,
    stream: &'static str,
    partial: Vec<u8>,
}

impl<W: Write> LineWriter<W> {
    /// Records of `stream` appended to `out`.
    pub fn new(out: W, stream: &'static str) -> Self {
        LineWriter {
            out,
            stream,
            partial: Vec::new(),
        }
    }

    /// Adds a chunk; complete lines are written now.
    pub fn push(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.partial.extend_from_slice(chunk);
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            self.write_record(&line)?;
        }
        // Docker splits lines longer than 16 KiB too.
        if self.partial.len() >= 16 * 1024 {
            let line = std::mem::take(&mut self.partial);
            self.write_record(&line)?;
        }
        Ok(())
    }

    /// Writes what is left without a newline (at the end of the stream).
    pub fn finish(&mut self) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.write_record(&line)?;
        }
        self.out.flush()
    }

    fn write_record(&mut self, line: &[u8]) -> std::io::Result<()> {
        let record = Record {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: self.stream.to_string(),
            time: now_rfc3339(),
        };
        let mut bytes = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        // One write per record: the two streams append to one file (O_APPEND).
        self.out.write_all(&bytes)
    }
}

/// Now, RFC 3339 with nanoseconds in UTC (docker's format).
pub fn now_rfc3339() -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The records of a log file; `tail` keeps only the last N.
pub fn read(path: &Path, tail: Option<usize>) -> Result<(Vec<Record>, u64)> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(io_err("read", path))?;
    // Only complete lines: a record being written is picked up by `follow`.
    let complete = text.rfind('\n').map_or(0, |p| p + 1);
    let records: Vec<Record> = text[..complete]
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let skip = tail.map_or(0, |n| records.len().saturating_sub(n));
    Ok((records.into_iter().skip(skip).collect(), complete as u64))
}

/// Calls `each` for the records appended after `offset` until `done()` says
/// the writer has finished (then drains what is left).
pub fn follow(
    path: &Path,
    mut offset: u64,
    done: &mut dyn FnMut() -> bool,
    each: &mut dyn FnMut(&Record) -> std::io::Result<()>,
) -> Result<()> {
    loop {
        let finished = done();
        if let Ok(mut file) = File::open(path) {
            file.seek(SeekFrom::Start(offset))
                .map_err(io_err("seek", path))?;
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            while reader.read_line(&mut line).map_err(io_err("read", path))? > 0 {
                if !line.ends_with('\n') {
                    break;
                }
                offset += line.len() as u64;
                if let Ok(r) = serde_json::from_str::<Record>(&line) {
                    each(&r).map_err(io_err("write", "stdout"))?;
                }
                line.clear();
            }
        }
        if finished {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_records_and_tail_works() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log");
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut w = LineWriter::new(file, "stdout");
        w.push(b"one\ntw").unwrap();
        w.push(b"o\nthree").unwrap();
        w.finish().unwrap();
        let (all, _) = read(&path, None).unwrap();
        let logs: Vec<&str> = all.iter().map(|r| r.log.as_str()).collect();
        assert_eq!(logs, ["one\n", "two\n", "three"]);
        assert!(all[0].time.ends_with('Z') && all[0].stream == "stdout");
        let (last, _) = read(&path, Some(1)).unwrap();
        assert_eq!(last[0].log, "three");
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(
            raw.starts_with("{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":"),
            "{raw}"
        );
    }

    #[test]
    fn follow_sees_appended_records() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log");
        std::fs::write(&path, "").unwrap();
        let p2 = path.clone();
        let writer = std::thread::spawn(move || {
            let file = File::options().append(true).open(&p2).unwrap();
            let mut w = LineWriter::new(file, "stderr");
            for i in 0..3 {
                w.push(format!("l{i}\n").as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(30));
            }
        });
        let mut seen = Vec::new();
        let start = std::time::Instant::now();
        follow(
            &path,
            0,
            &mut || writer.is_finished() || start.elapsed() > Duration::from_secs(5),
            &mut |r| {
                seen.push(r.log.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, ["l0\n", "l1\n", "l2\n"]);
    }
}
