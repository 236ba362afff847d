//! `strata registry serve`, the real binary, on a free loopback port with a temp data dir;
//! stopped with SIGTERM on drop, or when the test process dies (`setpriv --pdeathsig`).

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_testkit::registry::free_port;

/// A running `strata registry serve`.
pub struct Served {
    child: Option<Child>,
    port: u16,
    pub dir: tempfile::TempDir,
}

impl Served {
    /// Starts the server and waits until `/v2/` answers.
    pub fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = fs::File::create(dir.path().join("serve.log")).unwrap();
        // A parent-death signal: a killed test does not leave the server running.
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "TERM", "--"])
            .arg(env!("CARGO_BIN_EXE_strata"))
            .args(["registry", "serve", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let served = Served {
            child: Some(child),
            port,
            dir,
        };
        served.wait_ready();
        served
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("http://{}/v2/", self.host());
        while ureq::get(&url).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry never answered: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's log (one access line per request).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::Term);
            let _ = child.wait();
        }
    }
}
