//! runc's `--console-socket`: runc connects to a unix socket we listen on and sends the pty
//! master of the container's terminal as `SCM_RIGHTS` ancillary data.

use std::io::IoSliceMut;
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use super::sockpath::SocketPath;
use super::TtyError;

/// A listening console socket; the file is removed on drop.
#[derive(Debug)]
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
    /// What the runtime connects to (`/proc/<pid>/fd/N/NAME` for a long path).
    runtime_path: PathBuf,
    _sock: SocketPath,
}

impl ConsoleSocket {
    /// Listens at `path` (a stale file there is replaced). Pass [`ConsoleSocket::path`] to
    /// `runc create|run|exec --console-socket`.
    pub fn bind(path: &Path) -> Result<ConsoleSocket, TtyError> {
        let _ = std::fs::remove_file(path);
        let sock = SocketPath::new(path).map_err(TtyError::io("open the directory of", path))?;
        let listener = UnixListener::bind(sock.here()).map_err(TtyError::io("listen on", path))?;
        Ok(ConsoleSocket {
            listener,
            path: path.to_path_buf(),
            runtime_path: sock.for_others(),
            _sock: sock,
        })
    }

    /// The path to pass to the runtime's `--console-socket` (usable by other processes
    /// while this one lives, however long the socket's real path).
    pub fn runtime_path(&self) -> &Path {
        &self.runtime_path
    }

    /// Waits up to `timeout` for runc to connect and returns the pty master it sends.
    pub fn receive(&self, timeout: Duration) -> Result<OwnedFd, TtyError> {
        let stream = self.accept(timeout)?;
        receive_console(&stream).map_err(|reason| TtyError::Console {
            socket: self.path.clone(),
            reason,
        })
    }

    fn accept(&self, timeout: Duration) -> Result<UnixStream, TtyError> {
        let deadline = Instant::now() + timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(TtyError::io("configure", &self.path))?;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(TtyError::io("configure", &self.path))?;
                    return Ok(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(TtyError::Console {
                            socket: self.path.clone(),
                            reason: format!("the runtime did not connect within {timeout:?}"),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(TtyError::io("accept on", &self.path)(e)),
            }
        }
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one message from `stream` and returns the file descriptor it carries: the pty
/// master runc sends (its payload is the terminal's name).
pub fn receive_console(stream: &UnixStream) -> Result<OwnedFd, String> {
    let mut space = [0u8; rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut name = [0u8; 4096];
    let msg = recvmsg(
        stream,
        &mut [IoSliceMut::new(&mut name)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let mut fds = control.drain().filter_map(|m| match m {
        RecvAncillaryMessage::ScmRights(fds) => Some(fds),
        _ => None,
    });
    let fd = fds.next().and_then(|mut f| f.next());
    fd.ok_or_else(|| {
        format!(
            "the message ({} bytes) carried no file descriptor",
            msg.bytes
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    use std::io::{IoSlice, Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn receives_the_descriptor_sent_over_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let socket = ConsoleSocket::bind(&dir.path().join("console.sock")).unwrap();
        let (mut reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let client = UnixStream::connect(socket.runtime_path()).unwrap();
        let fds = [writer.as_fd()];
        let mut space = [0u8; rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
        sendmsg(
            &client,
            &[IoSlice::new(b"/dev/pts/9")],
            &mut control,
            SendFlags::empty(),
        )
        .unwrap();
        drop(writer);
        let fd = socket.receive(Duration::from_secs(5)).unwrap();
        std::fs::File::from(fd).write_all(b"through").unwrap();
        let mut got = [0u8; 7];
        reader.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"through");
    }

    #[test]
    fn a_message_without_a_descriptor_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let socket = ConsoleSocket::bind(&dir.path().join("c.sock")).unwrap();
        let mut client = UnixStream::connect(socket.runtime_path()).unwrap();
        client.write_all(b"no fd").unwrap();
        let err = socket.receive(Duration::from_secs(5)).unwrap_err();
        assert!(err.to_string().contains("c.sock"), "{err}");
        assert!(format!("{err:?}").contains("no file descriptor"), "{err:?}");
    }

    #[test]
    fn nobody_connecting_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let socket = ConsoleSocket::bind(&dir.path().join("t.sock")).unwrap();
        let err = socket.receive(Duration::from_millis(20)).unwrap_err();
        assert!(format!("{err:?}").contains("did not connect"), "{err:?}");
        let path = socket.path.clone();
        drop(socket);
        assert!(!path.exists());
    }
}
