//! `state.json`: what a container is now, changed under a flock and written
//! atomically (temp file + rename).

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{io_err, Error, Result};
use crate::paths::ContainerPaths;

/// A container's status (docker's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Config written, monitor not yet running the process.
    #[default]
    Created,
    /// The process runs.
    Running,
    /// The process ended (or never started: see `error`).
    Exited,
}

impl Status {
    /// `created` / `running` / `exited`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

/// A container's live state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// Status.
    pub status: Status,
    /// The container's init pid (host pid namespace) while it runs.
    pub pid: Option<i32>,
    /// The monitor's pid.
    pub monitor_pid: Option<i32>,
    /// RFC 3339 with nanoseconds.
    pub started_at: Option<String>,
    /// RFC 3339 with nanoseconds.
    pub finished_at: Option<String>,
    /// Exit code (128+signal when killed by a signal).
    pub exit_code: Option<i32>,
    /// The kernel's OOM killer killed a process of the container.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Why the container could not start, if it could not.
    pub error: Option<String>,
    /// HEALTHCHECK status, when the config has one.
    pub health: Option<Health>,
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: HealthStatus,
    /// Consecutive failures.
    pub failing_streak: u32,
    /// The last results (docker keeps 5).
    pub log: Vec<HealthLogEntry>,
}

/// A health status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Within the start period / no result yet.
    #[default]
    Starting,
    /// The last check passed.
    Healthy,
    /// `retries` consecutive checks failed.
    Unhealthy,
}

impl HealthStatus {
    /// `starting` / `healthy` / `unhealthy`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One health check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLogEntry {
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    /// The check's exit code (-1 on timeout).
    pub exit_code: i32,
    /// Its output (truncated to 4 KiB like docker).
    pub output: String,
}

/// Reads and changes one container's `state.json`.
#[derive(Debug, Clone)]
pub struct StateStore {
    paths: ContainerPaths,
}

impl StateStore {
    /// The store of the container at `paths`.
    pub fn new(paths: ContainerPaths) -> StateStore {
        StateStore { paths }
    }

    /// The container's paths.
    pub fn paths(&self) -> &ContainerPaths {
        &self.paths
    }

    /// The current state.
    pub fn load(&self) -> Result<State> {
        read_json(&self.paths.state())
    }

    /// Applies `change` to the state under the container's flock and writes it
    /// atomically; returns the new state.
    pub fn update(&self, change: impl FnOnce(&mut State)) -> Result<State> {
        let _lock = self.lock()?;
        let mut state = self.load()?;
        change(&mut state);
        write_json_replace(&self.paths.state(), &state)?;
        Ok(state)
    }

    /// Writes `state` (initial creation), under the flock.
    pub fn save(&self, state: &State) -> Result<()> {
        let _lock = self.lock()?;
        write_json_replace(&self.paths.state(), state)
    }

    /// Takes the container's exclusive flock (released on drop).
    pub fn lock(&self) -> Result<File> {
        let path = self.paths.lock();
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open lock", &path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err("lock", &path)(e.into()))?;
        Ok(file)
    }
}

/// Reads a JSON file into `T`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` as JSON to `path` through a temp file and a rename, without an fsync:
/// readers never see a partial file, and a container's state does not outlive a reboot
/// (its processes do not either), so the 5-10 ms of an fsync per state change (four per
/// `strata run`) buy nothing. A state file lost to a power cut reads as an exited container.
pub fn write_json_replace<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_json(path, value, false)
}

/// Writes `value` as JSON to `path` through a temp file, fsync and rename.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_json(path, value, true)
}

fn write_json<T: Serialize>(path: &Path, value: &T, durable: bool) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    file.write_all(&bytes)
        .and_then(|_| if durable { file.sync_all() } else { Ok(()) })
        .map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("rename", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_is_persisted_and_locked() {
        let root = tempfile::tempdir().unwrap();
        let paths = ContainerPaths::new(root.path(), "abc");
        fs::create_dir_all(&paths.dir).unwrap();
        let store = StateStore::new(paths.clone());
        store.save(&State::default()).unwrap();
        store
            .update(|s| {
                s.status = Status::Exited;
                s.exit_code = Some(137);
                s.oom_killed = true;
            })
            .unwrap();
        let text = fs::read_to_string(paths.state()).unwrap();
        assert!(text.contains("\"OOMKilled\": true"), "{text}");
        assert_eq!(store.load().unwrap().exit_code, Some(137));
        assert!(!fs::read_dir(&paths.dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("tmp")));
    }
}
