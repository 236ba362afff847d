//! Terminals and attaching: `-t`, `-i`, and `strata run -it`'s relay.
//!
//! - [`console`]: runc's `--console-socket`; the monitor receives the pty master
//!   ([`ConsoleSocket::receive`]) and keeps it for the container's life, so a detached
//!   `-dit` container keeps its terminal.
//! - [`server`]: the monitor serves `attach.sock` in the container's state dir
//!   ([`AttachServer`]): output to clients, input/resizes/signals to the container, the exit
//!   code at the end. [`read_pty`] pumps the master's output (into the logs and the server).
//! - [`client`]: `strata run -it` attaches ([`attach`]): raw mode, SIGWINCH → resize,
//!   SIGINT/SIGTERM/SIGHUP forwarded, the container's exit code returned. (`exec -t` needs
//!   none of this: runc relays a terminal of its own for a process it waits for.)
//! - [`proto`]: the attach socket's frames.

pub mod client;
pub mod console;
pub mod proto;
pub mod raw;
pub mod server;
pub mod sockpath;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

pub use client::{attach, AttachOptions};
pub use console::{receive_console, ConsoleSocket};
pub use server::{read_pty, AttachServer, SignalHandler};

/// What can go wrong with terminals and attach sockets.
#[derive(Debug, thiserror::Error)]
pub enum TtyError {
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no terminal from the runtime on {}: {reason}", socket.display())]
    Console { socket: PathBuf, reason: String },
    #[error("the container's monitor closed {} without an exit code", .0.display())]
    MonitorGone(PathBuf),
}

impl TtyError {
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> TtyError {
        let path = path.to_path_buf();
        move |source| TtyError::Io {
            action,
            path,
            source,
        }
    }
}

/// Sets the terminal size of the pty `master` (TIOCSWINSZ; the kernel sends SIGWINCH to
/// the terminal's foreground process group).
pub fn set_size(master: impl AsFd, rows: u16, cols: u16) -> std::io::Result<()> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(master, size).map_err(Into::into)
}

/// The size of our terminal (stdout's, else stdin's) as `(rows, cols)`.
pub fn terminal_size() -> Option<(u16, u16)> {
    [
        rustix::termios::tcgetwinsize(std::io::stdout()),
        rustix::termios::tcgetwinsize(std::io::stdin()),
    ]
    .into_iter()
    .flatten()
    .find(|w| w.ws_row > 0 && w.ws_col > 0)
    .map(|w| (w.ws_row, w.ws_col))
}
