//! A throwaway PostgreSQL for tests: Debian's server binaries (`apt-get install postgresql`,
//! used directly, no system service), a cluster in a temp dir listening on a free
//! `127.0.0.1` port with its socket in that dir, trust authentication, stopped on drop.
//! As root it runs as user `postgres` (through `runuser`), which must own the cluster.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::registry::free_port;
use crate::run_ok;

/// Where Debian puts the server binaries (`initdb`, `pg_ctl`, `postgres`).
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running PostgreSQL cluster; dropping it stops the server and removes its files.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    port: u16,
}

/// Why a PostgreSQL cannot be started here, `None` when it can.
pub fn missing() -> Option<String> {
    let bin = Path::new(PG_BIN);
    for tool in ["initdb", "pg_ctl", "postgres"] {
        if !bin.join(tool).is_file() {
            return Some(format!(
                "{} is missing (apt-get install postgresql; CI installs it in .ci/run)",
                bin.join(tool).display()
            ));
        }
    }
    if rustix::process::geteuid().is_root() && !crate::have("runuser") {
        return Some("runuser is missing (util-linux)".to_owned());
    }
    None
}

/// A command running `tool` from [`PG_BIN`], as user `postgres` when root.
fn pg_command(tool: &str) -> Command {
    let path = Path::new(PG_BIN).join(tool);
    if rustix::process::geteuid().is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

impl TestPostgres {
    /// Starts a cluster; fails the test loudly saying what is missing (as
    /// [`crate::require_tool`]: a test that cannot run must not pass).
    pub fn start_required() -> TestPostgres {
        if let Some(why) = missing() {
            panic!("{why}");
        }
        TestPostgres::start()
    }

    /// Starts a cluster (panics when it cannot: see [`TestPostgres::start_required`]).
    pub fn start() -> TestPostgres {
        let dir = tempfile::Builder::new()
            .prefix("strata-pg-")
            .tempdir()
            .expect("a temp dir");
        if rustix::process::geteuid().is_root() {
            run_ok(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let data = dir.path().join("data");
        run_ok(
            pg_command("initdb")
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .arg("-D")
                .arg(&data),
        );
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            dir.path().display()
        );
        run_ok(
            pg_command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.path().join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"]),
        );
        TestPostgres { dir, port }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for database `postgres` as superuser `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let stopped = pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        if !stopped.is_ok_and(|o| o.status.success()) {
            eprintln!("warning: pg_ctl stop failed for {}", self.data().display());
        }
    }
}
