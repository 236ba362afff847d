//! A throwaway Garage (the S3-compatible distributed object store) for tests: one node whose
//! config, metadata and data live in a temp dir, RPC and S3 on free `127.0.0.1` ports, a
//! layout of that one node, one access key and one bucket it may read, write and own;
//! stopped (killed and reaped) on drop.
//!
//! The binary is `garage` on `PATH`, else `~/.cargo/bin/garage` (`cargo install garage`;
//! CI installs it in .ci/run when missing).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::registry::free_port;

/// The bucket every test Garage has.
pub const BUCKET: &str = "strata-test";
/// The region its S3 API answers for.
pub const REGION: &str = "garage";

/// A running single-node Garage; dropping it stops it and removes its files.
pub struct TestGarage {
    child: Child,
    binary: PathBuf,
    dir: tempfile::TempDir,
    s3_port: u16,
    key_id: String,
    secret: String,
}

/// The `garage` binary: on `PATH`, else in `$CARGO_HOME/bin` or `~/.cargo/bin`.
pub fn binary() -> Option<PathBuf> {
    if crate::have("garage") {
        return Some(PathBuf::from("garage"));
    }
    let homes = [
        std::env::var_os("CARGO_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")),
    ];
    homes
        .into_iter()
        .flatten()
        .map(|home| home.join("bin/garage"))
        .find(|path| path.is_file())
}

fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut raw = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut raw)
        .expect("the OS random source is available");
    hex::encode(raw)
}

impl TestGarage {
    /// Starts a Garage; fails the test loudly when `garage` is missing (as
    /// [`crate::require_tool`]: a test that cannot run must not pass).
    pub fn start_required() -> TestGarage {
        match binary() {
            Some(binary) => TestGarage::start(binary),
            None => panic!(
                "garage is missing (cargo install garage --locked; CI installs it in .ci/run)"
            ),
        }
    }

    /// Starts the `binary` as a single node and sets up its layout, key and bucket.
    pub fn start(binary: PathBuf) -> TestGarage {
        let dir = tempfile::Builder::new()
            .prefix("strata-garage-")
            .tempdir()
            .expect("a temp dir");
        let (rpc, s3) = (free_port(), free_port());
        let config = format!(
            "metadata_dir = \"{root}/meta\"\ndata_dir = \"{root}/data\"\n\
             db_engine = \"sqlite\"\nreplication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"{REGION}\"\n\
             api_bind_addr = \"127.0.0.1:{s3}\"\nroot_domain = \".s3.garage.localhost\"\n",
            root = dir.path().display(),
            secret = random_hex(32),
        );
        let config_path = dir.path().join("garage.toml");
        std::fs::write(&config_path, config).expect("writing garage.toml");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("a log file");
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&config_path)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut garage = TestGarage {
            child,
            binary,
            dir,
            s3_port: s3,
            key_id: String::new(),
            secret: String::new(),
        };
        garage.set_up();
        garage
    }

    /// A `garage -c <config>` command.
    fn cli(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-c").arg(self.dir.path().join("garage.toml"));
        cmd.env("RUST_LOG", "garage=warn");
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cli().args(args).output().expect("running garage");
        self.check(args, &out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn check(&self, args: &[&str], out: &Output) {
        assert!(
            out.status.success(),
            "garage {args:?} failed: {}\n{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// Waits for the node, gives it a layout, creates the key and the bucket.
    fn set_up(&mut self) {
        let node = self.node_id();
        self.run(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        self.run(&["layout", "apply", "--version", "1"]);
        let key = self.run(&["key", "create", "strata-test-key"]);
        self.key_id = field(&key, "Key ID:");
        self.secret = field(&key, "Secret key:");
        self.run(&["bucket", "create", BUCKET]);
        self.run(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            BUCKET,
            "--key",
            "strata-test-key",
        ]);
        self.wait_for_s3();
    }

    /// The node's id, once `garage status` answers (the server is up and its RPC port
    /// listens; `node id` alone only reads the key file).
    fn node_id(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("polling garage") {
                panic!("garage exited ({status}) at start:\n{}", self.log());
            }
            let up = self.cli().arg("status").output();
            if up.is_ok_and(|o| o.status.success()) {
                let id = self.run(&["node", "id", "-q"]);
                let id = id.trim().split('@').next().unwrap_or_default().to_owned();
                assert!(!id.is_empty(), "garage node id printed nothing");
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "garage did not answer within 30s:\n{}",
                self.log()
            );
            sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the S3 port accepts connections.
    fn wait_for_s3(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "garage's S3 API did not listen within 30s"
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// The S3 endpoint URL (`http://127.0.0.1:<port>`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The access key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The secret access key.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// The value after `name` on its line of `text` (`Key ID: GK…`).
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name:?} in garage output:\n{text}"))
}

impl Drop for TestGarage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
