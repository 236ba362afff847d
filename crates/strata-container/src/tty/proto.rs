//! The attach socket's framing: `[kind u8][len u32 big-endian][payload]`.
//!
//! Client → monitor: [`Frame::Stdin`], [`Frame::CloseStdin`], [`Frame::Resize`],
//! [`Frame::Signal`]. Monitor → client: [`Frame::Output`], [`Frame::Exit`]. One stream
//! carries data and control, so a resize never overtakes the keys typed before it.

use std::io::{self, Read, Write};

/// Which output stream an [`Frame::Output`] chunk comes from (a terminal has one: stdout).
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// The largest payload accepted: a frame beyond this is a protocol error, not an allocation.
const MAX_PAYLOAD: u32 = 1 << 20;

/// One message on the attach socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Bytes for the container's stdin (or terminal).
    Stdin(Vec<u8>),
    /// The client's stdin ended.
    CloseStdin,
    /// The client's terminal size.
    Resize { rows: u16, cols: u16 },
    /// A signal for the container's process (sig-proxy).
    Signal(i32),
    /// Output of the container on `stream` ([`STDOUT`], [`STDERR`]).
    Output { stream: u8, data: Vec<u8> },
    /// The container exited with `code`.
    Exit(i32),
}

const STDIN: u8 = 1;
const CLOSE_STDIN: u8 = 2;
const RESIZE: u8 = 3;
const SIGNAL: u8 = 4;
const OUTPUT: u8 = 5;
const EXIT: u8 = 6;

impl Frame {
    /// Writes the frame in one `write_all`.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let (kind, payload): (u8, Vec<u8>) = match self {
            Frame::Stdin(d) => (STDIN, d.clone()),
            Frame::CloseStdin => (CLOSE_STDIN, Vec::new()),
            Frame::Resize { rows, cols } => {
                (RESIZE, [rows.to_be_bytes(), cols.to_be_bytes()].concat())
            }
            Frame::Signal(n) => (SIGNAL, n.to_be_bytes().to_vec()),
            Frame::Output { stream, data } => (OUTPUT, [&[*stream][..], data].concat()),
            Frame::Exit(code) => (EXIT, code.to_be_bytes().to_vec()),
        };
        let len = u32::try_from(payload.len()).map_err(|_| invalid("frame too large"))?;
        let mut buf = Vec::with_capacity(5 + payload.len());
        buf.push(kind);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&payload);
        w.write_all(&buf)
    }

    /// Reads one frame; `Ok(None)` at a clean end of stream.
    pub fn read_from(r: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head[..1]) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            other => other?,
        }
        r.read_exact(&mut head[1..])?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_PAYLOAD {
            return Err(invalid("frame too large"));
        }
        let mut payload = vec![0u8; len as usize];
        r.read_exact(&mut payload)?;
        decode(head[0], payload).map(Some)
    }
}

fn decode(kind: u8, payload: Vec<u8>) -> io::Result<Frame> {
    let int = |p: &[u8]| -> io::Result<i32> {
        Ok(i32::from_be_bytes(
            p.try_into().map_err(|_| invalid("bad integer"))?,
        ))
    };
    Ok(match kind {
        STDIN => Frame::Stdin(payload),
        CLOSE_STDIN => Frame::CloseStdin,
        RESIZE if payload.len() == 4 => Frame::Resize {
            rows: u16::from_be_bytes([payload[0], payload[1]]),
            cols: u16::from_be_bytes([payload[2], payload[3]]),
        },
        SIGNAL => Frame::Signal(int(&payload)?),
        OUTPUT if !payload.is_empty() => Frame::Output {
            stream: payload[0],
            data: payload[1..].to_vec(),
        },
        EXIT => Frame::Exit(int(&payload)?),
        _ => return Err(invalid("unknown frame")),
    })
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("attach socket: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_round_trips() {
        let frames = vec![
            Frame::Stdin(b"echo hi\r".to_vec()),
            Frame::CloseStdin,
            Frame::Resize {
                rows: 50,
                cols: 132,
            },
            Frame::Signal(15),
            Frame::Output {
                stream: STDERR,
                data: b"oops\n".to_vec(),
            },
            Frame::Output {
                stream: STDOUT,
                data: Vec::new(),
            },
            Frame::Exit(-1),
        ];
        let mut buf = Vec::new();
        for f in &frames {
            f.write_to(&mut buf).unwrap();
        }
        let mut r = &buf[..];
        let mut got = Vec::new();
        while let Some(f) = Frame::read_from(&mut r).unwrap() {
            got.push(f);
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn garbage_is_an_error_not_a_frame() {
        let mut r: &[u8] = &[9, 0, 0, 0, 0];
        assert_eq!(
            Frame::read_from(&mut r).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut r: &[u8] = &[1, 0xff, 0xff, 0xff, 0xff];
        assert!(Frame::read_from(&mut r).is_err());
        let mut r: &[u8] = &[1, 0, 0, 0, 5, b'a'];
        assert_eq!(
            Frame::read_from(&mut r).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
