//! The attaching side: `strata run -it` relays the user's terminal.
//!
//! [`attach`] talks to a monitor's [`super::AttachServer`]. It puts the local terminal in
//! raw mode for its whole life (restored on every return), turns SIGWINCH into a resize, and forwards SIGINT, SIGTERM and SIGHUP to the container
//! instead of dying of them (docker's sig-proxy).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
use signal_hook::iterator::Signals;

use super::proto::{Frame, STDERR};
use super::raw::RawMode;
use super::sockpath::SocketPath;
use super::{terminal_size, TtyError};

/// What an attached client relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachOptions {
    /// The container has a terminal (`-t`): raw mode and resizes.
    pub tty: bool,
    /// Relay our stdin (`-i`).
    pub stdin: bool,
}

/// Attaches to the monitor's socket at `socket` and relays until the container exits;
/// returns its exit code. While the socket does not exist yet, it waits as long as
/// `keep_waiting` says (e.g. while the monitor lives) and at most a minute.
pub fn attach(
    socket: &Path,
    opts: AttachOptions,
    keep_waiting: &mut dyn FnMut() -> bool,
) -> Result<i32, TtyError> {
    let stream = connect(socket, Duration::from_secs(60), keep_waiting)?;
    let writer = Arc::new(Mutex::new(
        stream.try_clone().map_err(TtyError::io("use", socket))?,
    ));
    let stdin = std::io::stdin();
    let _raw = if opts.tty && opts.stdin {
        RawMode::enable(stdin.as_fd())
            .map_err(TtyError::io("set raw mode on", Path::new("stdin")))?
    } else {
        None
    };
    let send = {
        let writer = writer.clone();
        move |f: Frame| {
            let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
            f.write_to(&mut *w).is_ok()
        }
    };
    if opts.tty {
        if let Some((rows, cols)) = terminal_size() {
            send(Frame::Resize { rows, cols });
        }
    }
    // Without a terminal the caller forwards signals (its sig-proxy); with one, they come
    // here with the resizes.
    let signals = opts.tty.then(|| {
        forward_signals({
            let send = send.clone();
            move |sig| match sig {
                SIGWINCH => {
                    if let Some((rows, cols)) = terminal_size() {
                        send(Frame::Resize { rows, cols });
                    }
                }
                n => {
                    send(Frame::Signal(n));
                }
            }
        })
    });
    let signals = signals.transpose()?;
    if opts.stdin {
        spawn_stdin_pump(move |chunk| match chunk {
            Some(data) => send(Frame::Stdin(data.to_vec())),
            None => send(Frame::CloseStdin),
        });
    }
    let result = receive_until_exit(stream, socket);
    if let Some(s) = signals {
        s.close();
    }
    result
}

fn connect(
    socket: &Path,
    timeout: Duration,
    keep_waiting: &mut dyn FnMut() -> bool,
) -> Result<UnixStream, TtyError> {
    let deadline = Instant::now() + timeout;
    let sock = SocketPath::new(socket).map_err(TtyError::io("open the directory of", socket))?;
    loop {
        match UnixStream::connect(sock.here()) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() < deadline && is_not_yet_there(&e) && keep_waiting() => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(TtyError::io("connect to", socket)(e)),
        }
    }
}

fn is_not_yet_there(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
    )
}

fn receive_until_exit(mut stream: UnixStream, socket: &Path) -> Result<i32, TtyError> {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr());
    loop {
        match Frame::read_from(&mut stream).map_err(TtyError::io("read from", socket))? {
            Some(Frame::Output { stream, data }) => {
                let w: &mut dyn Write = if stream == STDERR { &mut err } else { &mut out };
                let _ = w.write_all(&data).and_then(|()| w.flush());
            }
            Some(Frame::Exit(code)) => return Ok(code),
            Some(_) => {}
            None => return Err(TtyError::MonitorGone(socket.to_path_buf())),
        }
    }
}

/// Runs `on_signal` on a thread for SIGWINCH, SIGINT, SIGTERM and SIGHUP until the handle
/// is closed; while it lives those signals no longer end this process.
fn forward_signals(
    on_signal: impl Fn(i32) + Send + 'static,
) -> Result<signal_hook::iterator::Handle, TtyError> {
    let mut signals = Signals::new([SIGWINCH, SIGINT, SIGTERM, SIGHUP])
        .map_err(TtyError::io("handle signals of", Path::new("the terminal")))?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        for sig in signals.forever() {
            on_signal(sig);
        }
    });
    Ok(handle)
}

/// Reads our stdin on a thread: `Some(chunk)` per read, `None` at its end. The thread stops
/// when `sink` returns false.
fn spawn_stdin_pump(sink: impl Fn(Option<&[u8]>) -> bool + Send + 'static) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    sink(None);
                    return;
                }
                Ok(n) => {
                    if !sink(Some(&buf[..n])) {
                        return;
                    }
                }
            }
        }
    });
}
