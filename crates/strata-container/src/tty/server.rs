//! The monitor's side of attaching: a unix socket in the container's state dir that relays
//! the container's output to every attached client and one client's input, resizes and
//! signals to the container, and tells clients the exit code.
//!
//! Output produced before the first client attaches is kept (up to [`BACKLOG_LIMIT`]) and
//! handed to that client, so `strata run -it` sees the first prompt even though the
//! container started before it connected.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::debug;

use super::proto::Frame;
use super::sockpath::SocketPath;
use super::TtyError;

/// How much output is kept for the first client.
pub const BACKLOG_LIMIT: usize = 1 << 20;

/// What the container does with a signal a client forwards (the monitor's `runc kill`).
pub type SignalHandler = Box<dyn Fn(i32) + Send + Sync>;

/// Serves the attach socket until dropped (the socket file is removed then).
#[derive(Clone)]
pub struct AttachServer {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    state: Mutex<State>,
    input: Mutex<Option<Box<dyn Write + Send>>>,
    /// The pty master, for resizes (`None` without a terminal).
    pty: Mutex<Option<OwnedFd>>,
    /// The last size a client asked for, applied when the terminal arrives.
    size: Mutex<Option<(u16, u16)>>,
    on_signal: SignalHandler,
}

#[derive(Default)]
struct State {
    clients: Vec<UnixStream>,
    /// Output nobody has seen yet; `None` once a client attached.
    backlog: Option<Vec<Frame>>,
    backlog_len: usize,
    exit: Option<i32>,
}

impl AttachServer {
    /// Listens at `path`. `input` receives what clients type (the pty master or the
    /// container's stdin pipe; `None`: input is dropped), `pty` is the terminal to resize.
    pub fn start(
        path: &Path,
        input: Option<Box<dyn Write + Send>>,
        pty: Option<OwnedFd>,
        on_signal: SignalHandler,
    ) -> Result<AttachServer, TtyError> {
        let _ = std::fs::remove_file(path);
        let sock = SocketPath::new(path).map_err(TtyError::io("open the directory of", path))?;
        let listener = UnixListener::bind(sock.here()).map_err(TtyError::io("listen on", path))?;
        let server = AttachServer {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                state: Mutex::new(State {
                    backlog: Some(Vec::new()),
                    ..State::default()
                }),
                input: Mutex::new(input),
                pty: Mutex::new(pty),
                size: Mutex::new(None),
                on_signal,
            }),
        };
        let accepting = server.clone();
        std::thread::Builder::new()
            .name("attach-accept".into())
            .spawn(move || accepting.accept_loop(listener))
            .map_err(TtyError::io("start a thread for", path))?;
        Ok(server)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Sets the terminal once the runtime handed it over: `pty` for resizes and, with `-i`,
    /// `input` for what clients type.
    pub fn set_terminal(&self, pty: OwnedFd, input: Option<Box<dyn Write + Send>>) {
        if let Some((rows, cols)) = *self.inner.size.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = super::set_size(&pty, rows, cols);
        }
        *self.inner.pty.lock().unwrap_or_else(|p| p.into_inner()) = Some(pty);
        *self.inner.input.lock().unwrap_or_else(|p| p.into_inner()) = input;
    }

    /// Sends output of the container to every client (or keeps it for the first).
    pub fn output(&self, stream: u8, data: &[u8]) {
        let frame = Frame::Output {
            stream,
            data: data.to_vec(),
        };
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(backlog) = state.backlog.as_mut() {
            if state.backlog_len + data.len() <= BACKLOG_LIMIT {
                backlog.push(frame);
                state.backlog_len += data.len();
            }
            return;
        }
        state.clients.retain_mut(|c| frame.write_to(c).is_ok());
    }

    /// Tells every client (and any that attaches later) that the container exited.
    pub fn exit(&self, code: i32) {
        let mut state = self.lock();
        state.exit = Some(code);
        for mut c in state.clients.drain(..) {
            let _ = Frame::Exit(code).write_to(&mut c);
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn accept_loop(self, listener: UnixListener) {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            let mut state = self.lock();
            let backlog = state.backlog.take().unwrap_or_default();
            let sent = backlog.iter().all(|f| f.write_to(&mut stream).is_ok());
            if let Some(code) = state.exit {
                let _ = Frame::Exit(code).write_to(&mut stream);
                continue;
            }
            if sent {
                state.clients.push(stream);
            }
            drop(state);
            let server = self.clone();
            let _ = std::thread::Builder::new()
                .name("attach-client".into())
                .spawn(move || server.client_loop(reader));
        }
    }

    fn client_loop(self, mut stream: UnixStream) {
        while let Ok(Some(frame)) = Frame::read_from(&mut stream) {
            match frame {
                Frame::Stdin(data) => self.write_input(&data),
                Frame::CloseStdin if !self.has_terminal() => {
                    *self.inner.input.lock().unwrap_or_else(|p| p.into_inner()) = None;
                }
                Frame::Resize { rows, cols } => self.resize(rows, cols),
                Frame::Signal(n) => (self.inner.on_signal)(n),
                _ => {}
            }
        }
        debug!("attach client left");
    }

    fn write_input(&self, data: &[u8]) {
        let mut input = self.inner.input.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = input.as_mut() {
            if w.write_all(data).and_then(|()| w.flush()).is_err() {
                *input = None;
            }
        }
    }

    fn has_terminal(&self) -> bool {
        self.inner
            .pty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn resize(&self, rows: u16, cols: u16) {
        *self.inner.size.lock().unwrap_or_else(|p| p.into_inner()) = Some((rows, cols));
        if let Some(pty) = &*self.inner.pty.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = super::set_size(pty, rows, cols);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads the pty `master` until the terminal closes (the container exited: the kernel
/// answers EIO once no process holds the other side), handing each chunk to `sink`.
pub fn read_pty(mut master: File, mut sink: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match master.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => sink(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tty::proto::STDOUT;
    use std::sync::atomic::{AtomicI32, Ordering};

    fn read_frames_until_exit(stream: &mut UnixStream) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(f) = Frame::read_from(stream).unwrap() {
            let last = matches!(f, Frame::Exit(_));
            frames.push(f);
            if last {
                break;
            }
        }
        frames
    }

    #[test]
    fn first_client_gets_the_backlog_input_signals_and_exit() {
        let dir = tempfile::tempdir().unwrap();
        let (input_reader, input_writer) = UnixStream::pair().unwrap();
        let signalled = Arc::new(AtomicI32::new(0));
        let seen = signalled.clone();
        let server = AttachServer::start(
            &dir.path().join("attach.sock"),
            Some(Box::new(input_writer)),
            None,
            Box::new(move |n| seen.store(n, Ordering::SeqCst)),
        )
        .unwrap();
        server.output(STDOUT, b"before attach\n");
        let mut client = UnixStream::connect(server.path()).unwrap();
        Frame::Stdin(b"typed".to_vec())
            .write_to(&mut client)
            .unwrap();
        Frame::Signal(2).write_to(&mut client).unwrap();
        let mut got = [0u8; 5];
        (&input_reader).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"typed");
        while signalled.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(signalled.load(Ordering::SeqCst), 2);
        server.output(STDOUT, b"after\n");
        server.exit(3);
        let frames = read_frames_until_exit(&mut client);
        assert_eq!(
            frames,
            vec![
                Frame::Output {
                    stream: STDOUT,
                    data: b"before attach\n".to_vec()
                },
                Frame::Output {
                    stream: STDOUT,
                    data: b"after\n".to_vec()
                },
                Frame::Exit(3)
            ]
        );
        // A client arriving after the exit learns the code at once.
        let mut late = UnixStream::connect(server.path()).unwrap();
        assert_eq!(read_frames_until_exit(&mut late), vec![Frame::Exit(3)]);
    }

    #[test]
    fn close_stdin_closes_the_pipe_without_a_terminal() {
        let dir = tempfile::tempdir().unwrap();
        let (mut input_reader, input_writer) = UnixStream::pair().unwrap();
        let server = AttachServer::start(
            &dir.path().join("a.sock"),
            Some(Box::new(input_writer)),
            None,
            Box::new(|_| {}),
        )
        .unwrap();
        let mut client = UnixStream::connect(server.path()).unwrap();
        Frame::Stdin(b"x".to_vec()).write_to(&mut client).unwrap();
        Frame::CloseStdin.write_to(&mut client).unwrap();
        let mut all = Vec::new();
        input_reader.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"x");
        let path = server.path().to_path_buf();
        drop(server);
        std::thread::sleep(Duration::from_millis(10));
        // The accept thread keeps one reference: the file goes with the last one.
        let _ = path;
    }
}
