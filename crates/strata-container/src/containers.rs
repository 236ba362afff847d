//! The containers of a strata root: create (id, unique name), list, find by
//! name or id prefix, stop, kill, remove.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use strata_executor::Runtime;
use tracing::debug;

use crate::error::{io_err, Error, Result};
use crate::ids::{new_id, random_name};
use crate::monitor::{process_alive, remove_dir};
use crate::paths::{containers_dir, ContainerPaths};
use crate::spec::ContainerConfig;
use crate::state::{read_json, write_json_atomic, write_json_replace, State, StateStore, Status};

/// One container: what was asked and what it is now.
#[derive(Debug, Clone)]
pub struct Container {
    pub config: ContainerConfig,
    pub state: State,
    pub paths: ContainerPaths,
}

impl Container {
    /// Its state store.
    pub fn store(&self) -> StateStore {
        StateStore::new(self.paths.clone())
    }

    /// Whether its process runs (the state says so and the monitor lives).
    pub fn is_running(&self) -> bool {
        self.state.status == Status::Running && self.monitor_alive()
    }

    /// Whether its monitor process still exists.
    pub fn monitor_alive(&self) -> bool {
        self.state.monitor_pid.is_some_and(process_alive)
    }
}

/// The containers under one strata root.
#[derive(Debug, Clone)]
pub struct Containers {
    root: PathBuf,
}

impl Containers {
    /// The containers of the strata root `root`.
    pub fn new(root: &Path) -> Containers {
        Containers {
            root: root.to_path_buf(),
        }
    }

    /// The strata root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Allocates an id and a unique name and writes `config.json` and
    /// `state.json` (status `created`). `config.id`/`name` are filled in.
    pub fn create(&self, mut config: ContainerConfig, name: Option<&str>) -> Result<Container> {
        let dir = containers_dir(&self.root);
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let _lock = global_lock(&dir)?;
        let taken: Vec<(String, String)> = self
            .list()?
            .into_iter()
            .map(|c| (c.config.name, c.config.id))
            .collect();
        let id = new_id()?;
        let name = match name {
            Some(n) => {
                crate::ids::validate_name(n)?;
                if let Some((_, other)) = taken.iter().find(|(t, _)| t == n) {
                    return Err(Error::NameInUse {
                        name: n.to_string(),
                        id: other.clone(),
                    });
                }
                n.to_string()
            }
            None => (0..)
                .map(|i| random_name(&id, i))
                .find(|n| !taken.iter().any(|(t, _)| t == n))
                .expect("an unbounded range"),
        };
        config.id = id.clone();
        config.name = name;
        config.hostname = crate::ids::short(&id).to_string();
        let paths = ContainerPaths::new(&self.root, &id);
        let tmp = dir.join(format!(".tmp-{id}"));
        fs::create_dir(&tmp).map_err(io_err("create", &tmp))?;
        write_json_atomic(&tmp.join("config.json"), &config)?;
        write_json_replace(&tmp.join("state.json"), &State::default())?;
        fs::rename(&tmp, &paths.dir).map_err(io_err("rename", &paths.dir))?;
        Ok(Container {
            config,
            state: State::default(),
            paths,
        })
    }

    /// Every container, newest first. Dirs being created or removed are skipped.
    pub fn list(&self) -> Result<Vec<Container>> {
        let dir = containers_dir(&self.root);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("read", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() != 64 || !entry.path().is_dir() {
                continue;
            }
            match self.load(&name) {
                Ok(c) => out.push(c),
                Err(e) => debug!(id = %name, error = %e, "skipping container"),
            }
        }
        out.sort_by(|a, b| b.config.created.cmp(&a.config.created));
        Ok(out)
    }

    /// The container with full id `id`.
    pub fn load(&self, id: &str) -> Result<Container> {
        let paths = ContainerPaths::new(&self.root, id);
        let config = read_json(&paths.config())?;
        let state = read_json(&paths.state()).unwrap_or_else(|e| {
            debug!(%id, error = %e, "unreadable state: the container counts as exited");
            State {
                status: Status::Exited,
                error: Some(format!("its state was lost: {e}")),
                ..State::default()
            }
        });
        Ok(Container {
            config,
            state,
            paths,
        })
    }

    /// Finds a container by name, full id or unique id prefix (docker's order).
    pub fn find(&self, what: &str) -> Result<Container> {
        let all = self.list()?;
        let what_id = what.strip_prefix("sha256:").unwrap_or(what);
        if let Some(c) = all
            .iter()
            .find(|c| c.config.id == what_id || c.config.name == what)
        {
            return Ok(c.clone());
        }
        let mut matches = all
            .into_iter()
            .filter(|c| !what_id.is_empty() && c.config.id.starts_with(what_id));
        match (matches.next(), matches.next()) {
            (Some(c), None) => Ok(c),
            (Some(_), Some(_)) => Err(Error::Ambiguous(what.to_string())),
            _ => Err(Error::NotFound(what.to_string())),
        }
    }

    /// Sends `signal` to a running container's processes.
    pub fn kill(&self, c: &Container, runtime: &Runtime, signal: i32) -> Result<()> {
        if !c.is_running() {
            return Err(Error::WrongState {
                id: c.config.id.clone(),
                state: c.state.status.as_str().into(),
                hint: "only a running container can be signalled",
            });
        }
        runtime.kill(&c.paths.runc_root(), &c.config.id, signal, false)?;
        Ok(())
    }

    /// docker's stop: the stop signal, then SIGKILL after `timeout`; returns
    /// once the monitor recorded the exit.
    pub fn stop(&self, c: &Container, runtime: &Runtime, timeout: Duration) -> Result<()> {
        if !c.is_running() {
            self.recover(c, runtime)?;
            return Ok(());
        }
        let (root, id) = (c.paths.runc_root(), c.config.id.as_str());
        if let Err(e) = runtime.kill(&root, id, c.config.stop_signal, false) {
            debug!(error = %e, "stop signal not delivered");
        }
        if !self.wait_exited(c, timeout) {
            debug!(%id, "still running after the stop timeout: SIGKILL");
            let _ = runtime.kill(&root, id, libc::SIGKILL, true);
        }
        if !self.wait_exited(c, Duration::from_secs(30)) {
            return Err(Error::Other {
                what: format!("container {id} did not exit after SIGKILL"),
                source: None,
            });
        }
        Ok(())
    }

    /// Waits until the monitor has recorded the exit (or is gone).
    fn wait_exited(&self, c: &Container, timeout: Duration) -> bool {
        let start = Instant::now();
        let store = c.store();
        loop {
            let exited = match store.load() {
                Ok(s) => s.status == Status::Exited,
                Err(_) => true, // removed (--rm)
            };
            if exited || !c.monitor_alive() {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A container whose monitor died (SIGKILL, reboot) while its state says
    /// created/running: tear down what the runtime still has and mark it exited.
    pub fn recover(&self, c: &Container, runtime: &Runtime) -> Result<()> {
        if c.state.status == Status::Exited || c.monitor_alive() {
            return Ok(());
        }
        let root = c.paths.runc_root();
        if root.join(&c.config.id).exists() {
            let _ = runtime.delete(&root, &c.config.id, true);
        }
        c.store().update(|s| {
            s.status = Status::Exited;
            s.pid = None;
            s.exit_code.get_or_insert(crate::monitor::EXIT_START_FAILED);
            s.finished_at.get_or_insert_with(crate::logs::now_rfc3339);
            s.error
                .get_or_insert_with(|| "the container's monitor died".into());
        })?;
        // Its network namespace (slirp4netns exited with the monitor: its exit fd closed).
        crate::net::netns::remove_at(&c.paths.netns());
        // Its overlay mount is released by the next SnapshotStore::open (its lock is free).
        strata_snapshot::SnapshotStore::open(&self.root)?;
        Ok(())
    }

    /// Removes a container; a running (or starting) one only with `force` (killed first).
    /// A monitor still tearing down (an exit just recorded) is waited for.
    pub fn remove(&self, c: &Container, runtime: &Runtime, force: bool) -> Result<()> {
        let active = c.state.status != Status::Exited && c.monitor_alive();
        if active {
            if !force {
                return Err(Error::WrongState {
                    id: c.config.id.clone(),
                    state: c.state.status.as_str().into(),
                    hint: "stop the container before removing it, or use rm -f",
                });
            }
            let _ = runtime.kill(&c.paths.runc_root(), &c.config.id, libc::SIGKILL, true);
            self.wait_exited(c, Duration::from_secs(30));
        } else if !c.monitor_alive() {
            self.recover(c, runtime)?;
        }
        // The monitor unmounts and, for --rm, removes the dir itself: let it finish.
        let start = Instant::now();
        while c.monitor_alive() && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _lock = c.store().lock().ok();
        remove_dir(&c.paths)
    }
}

fn global_lock(dir: &Path) -> Result<fs::File> {
    let path = dir.join(".lock");
    let file = fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io_err("lock", &path)(e.into()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixes_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let cs = Containers::new(tmp.path());
        let config = crate::bundle::tests_config();
        let a = cs.create(config.clone(), Some("web")).unwrap();
        let e = cs
            .create(config.clone(), Some("web"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("already in use") && e.contains(&a.config.id),
            "{e}"
        );
        let b = cs.create(config, None).unwrap();
        assert!(b.config.name.contains('_'));
        assert_eq!(cs.find("web").unwrap().config.id, a.config.id);
        assert_eq!(cs.find(&a.config.id[..10]).unwrap().config.name, "web");
        assert_eq!(cs.find(&b.config.name).unwrap().config.id, b.config.id);
        assert!(matches!(cs.find("zzz"), Err(Error::NotFound(_))));
        assert_eq!(cs.list().unwrap().len(), 2);
        assert_eq!(a.config.hostname, &a.config.id[..12]);
        let state = cs.load(&a.config.id).unwrap().state;
        assert_eq!(state.status, Status::Created);
    }
}
