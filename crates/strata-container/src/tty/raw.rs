//! The local terminal in raw mode while attached, restored on every way out.

use std::os::fd::{AsFd, BorrowedFd};

use rustix::termios::{self, OptionalActions, Termios};

/// Puts a terminal in raw mode (cfmakeraw) and restores its settings on drop, which runs on
/// return, error and panic; the attach client handles SIGINT/SIGTERM/SIGHUP itself, so those
/// end through a return too.
pub struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    /// Raw mode on `fd`; `None` when it is not a terminal.
    pub fn enable(fd: BorrowedFd<'a>) -> std::io::Result<Option<RawMode<'a>>> {
        if !termios::isatty(fd) {
            return Ok(None);
        }
        let saved = termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(fd, OptionalActions::Now, &raw)?;
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd.as_fd(), OptionalActions::Now, &self.saved);
    }
}
