//! `strata registry serve`, the real binary, on a free loopback port with a temp data dir;
//! stopped with SIGTERM on drop, or when the test process dies (`setpriv --pdeathsig`).

use std::fs;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use strata_testkit::registry::free_port;

/// A running `strata registry serve`.
pub struct Served {
    child: Option<Child>,
    port: u16,
    pub dir: tempfile::TempDir,
}

impl Served {
    /// Starts the server and waits until it listens.
    pub fn start() -> Served {
        Served::start_with(&[])
    }

    /// With `extra` arguments (`--config FILE`).
    pub fn start_with(extra: &[&str]) -> Served {
        Served::spawn(true, extra, &[])
    }

    /// A replica on the shared stores (S3 + PostgreSQL) the config file names: no data
    /// dir, `envs` (S3 credentials) in its environment.
    pub fn start_shared(config: &std::path::Path, envs: &[(&str, &str)]) -> Served {
        Served::spawn(false, &["--config", config.to_str().unwrap()], envs)
    }

    fn spawn(with_data: bool, extra: &[&str], envs: &[(&str, &str)]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = fs::File::create(dir.path().join("serve.log")).unwrap();
        // A parent-death signal: a killed test does not leave the server running.
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "TERM", "--"])
            .arg(env!("CARGO_BIN_EXE_strata"))
            .args(["registry", "serve", "--addr"])
            .arg(format!("127.0.0.1:{port}"));
        if with_data {
            command.arg("--data").arg(dir.path().join("data"));
        }
        let child = command
            .args(extra)
            .envs(envs.iter().copied())
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

    /// Until it says it serves (it has bound its port then; plain HTTP or HTTPS, with or
    /// without auth).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains("strata registry serving") {
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

    /// A path in its temp dir (beside `data/`).
    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// The server's log (one access line per request).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }
}

impl Served {
    /// SIGTERM, then its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("still running");
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::Term).unwrap();
        child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}
