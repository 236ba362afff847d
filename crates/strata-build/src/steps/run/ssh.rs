//! `RUN --mount=type=ssh`: an SSH agent forwarded into the step, as BuildKit does it.
//!
//! The agent socket given with `--ssh ID=SOCKET` is never bound into the container itself:
//! a proxy socket is made in a temp dir under the store, owned by the mount's `uid`/`gid`
//! (default 0) with its `mode` (default 0600), and every connection to it is relayed to the
//! agent. So a non-root `USER` can use the agent exactly when the mount says so, and the
//! container never learns the host path. The proxy stops and its socket is removed when the
//! step ends. The first ssh mount's target becomes `SSH_AUTH_SOCK` unless the step's
//! environment sets it (what BuildKit's LLB does).

use std::io;
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::{BuildError, Result};
use crate::steps::run::mounts::set_owner_and_mode;

/// A listening proxy socket relaying to an agent; stops on drop, then its dir is removed.
pub struct AgentProxy {
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl AgentProxy {
    /// Listens at `agent.sock` in `dir`, owned by `owner` with `mode`, relaying to `agent`.
    pub fn start(
        dir: tempfile::TempDir,
        agent: &Path,
        owner: (u32, u32),
        mode: u32,
    ) -> Result<AgentProxy> {
        let socket = dir.path().join("agent.sock");
        let socket = socket.as_path();
        let listener =
            UnixListener::bind(socket).map_err(BuildError::io("listening on", socket))?;
        set_owner_and_mode(socket, owner, mode)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, agent) = (stop.clone(), agent.to_path_buf());
        let thread = std::thread::Builder::new()
            .name("ssh-agent-proxy".into())
            .spawn(move || accept_loop(&listener, &agent, &flag))
            .map_err(BuildError::io("starting the ssh agent proxy for", socket))?;
        Ok(AgentProxy {
            socket: socket.to_path_buf(),
            stop,
            thread: Some(thread),
            _dir: dir,
        })
    }

    /// The proxy socket, to bind into the container.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for AgentProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag (if that fails, leave the thread:
        // waiting for it could hang).
        if UnixStream::connect(&self.socket).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn accept_loop(listener: &UnixListener, agent: &Path, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match conn {
            Ok(client) => {
                let agent = agent.to_path_buf();
                std::thread::spawn(move || {
                    if let Err(e) = relay(client, &agent) {
                        tracing::debug!(error = %e, "ssh agent connection ended");
                    }
                });
            }
            Err(e) => tracing::debug!(error = %e, "ssh agent proxy: accept failed"),
        }
    }
}

/// Copies both ways between a container's connection and a new one to the agent.
fn relay(client: UnixStream, agent: &Path) -> io::Result<()> {
    let upstream = UnixStream::connect(agent)?;
    let (mut c_read, mut u_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::MetadataExt;

    /// An echo server standing in for the agent: the relay must carry bytes both ways,
    /// serve several connections, and remove its socket when dropped.
    #[test]
    fn relays_both_ways_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let agent = dir.path().join("agent.sock");
        let server = UnixListener::bind(&agent).unwrap();
        std::thread::spawn(move || {
            for conn in server.incoming() {
                let mut c = conn.unwrap();
                let mut buf = [0u8; 5];
                c.read_exact(&mut buf).unwrap();
                buf.reverse();
                c.write_all(&buf).unwrap();
            }
        });
        let me = std::fs::metadata(dir.path()).unwrap();
        let proxy_dir = tempfile::tempdir().unwrap();
        let proxy = AgentProxy::start(proxy_dir, &agent, (me.uid(), me.gid()), 0o640).unwrap();
        let socket = proxy.socket().to_path_buf();
        let meta = std::fs::metadata(&socket).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o640);
        for word in [b"hello", b"agent"] {
            let mut c = UnixStream::connect(&socket).unwrap();
            c.write_all(word).unwrap();
            let mut back = Vec::new();
            c.read_to_end(&mut back).unwrap();
            let mut want = word.to_vec();
            want.reverse();
            assert_eq!(back, want);
        }
        drop(proxy);
        assert!(!socket.exists());
        assert!(!socket.parent().unwrap().exists());
    }
}
