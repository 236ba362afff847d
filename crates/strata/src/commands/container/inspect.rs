//! `strata inspect` of a container: docker's JSON shape (State, HostConfig, Config,
//! NetworkSettings.Ports), limits read back from the cgroup while it runs.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use strata_container::cgroups;
use strata_container::containers::Container;
use strata_executor::CgroupLayout;

/// The JSON of one container.
pub fn inspect(c: &Container) -> Value {
    let cfg = &c.config;
    let st = &c.state;
    let running = c.is_running();
    let mut ports: BTreeMap<String, Value> = BTreeMap::new();
    for p in &cfg.ports {
        let key = format!("{}/{}", p.container_port, p.proto.as_str());
        let binding = json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()});
        match ports.get_mut(&key) {
            Some(Value::Array(list)) => list.push(binding),
            _ => {
                ports.insert(key, json!([binding]));
            }
        }
    }
    let cgroup = cgroups::open(
        CgroupLayout::detect(),
        &cgroups::host_mount(),
        &cgroups::cgroups_path(&cfg.id),
    );
    let applied = (running && cgroup.exists())
        .then(|| cgroup.applied().ok())
        .flatten();
    let health = st.health.as_ref().map(|h| {
        json!({
            "Status": h.status.as_str(),
            "FailingStreak": h.failing_streak,
            "Log": h.log,
        })
    });
    json!({
        "Id": cfg.id,
        "Created": cfg.created,
        "Path": cfg.argv.first(),
        "Args": cfg.argv.get(1..).unwrap_or_default(),
        "State": {
            "Status": if running { "running" } else { st.status.as_str() },
            "Running": running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": st.oom_killed,
            "Dead": false,
            "Pid": if running { st.pid.unwrap_or(0) } else { 0 },
            "ExitCode": st.exit_code.unwrap_or(0),
            "Error": st.error.clone().unwrap_or_default(),
            "StartedAt": st.started_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            "FinishedAt": st.finished_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            "Health": health,
        },
        "Image": cfg.image_id,
        "Name": format!("/{}", cfg.name),
        "LogPath": c.paths.log(),
        "HostConfig": {
            "Memory": cfg.limits.memory,
            "MemorySwap": cfg.limits.memory_swap,
            "NanoCpus": cfg.limits.nano_cpus,
            "CpuShares": cfg.limits.cpu_shares,
            "PidsLimit": if cfg.limits.pids_limit == 0 { Value::Null } else { json!(cfg.limits.pids_limit) },
            "PortBindings": ports,
            "NetworkMode": cfg.network.as_str(),
            "AutoRemove": cfg.auto_remove,
            "ReadonlyRootfs": cfg.read_only,
            "Init": cfg.init,
            "Binds": cfg.mounts.iter().filter(|m| m.kind == strata_container::MountType::Bind)
                .map(|m| format!("{}:{}{}", m.source.display(), m.destination, if m.read_only { ":ro" } else { "" }))
                .collect::<Vec<_>>(),
        },
        "Mounts": cfg.mounts,
        "Config": {
            "Hostname": cfg.hostname,
            "User": cfg.user,
            "Env": cfg.env,
            "Cmd": cfg.cmd,
            "Entrypoint": cfg.entrypoint,
            "Image": cfg.image,
            "WorkingDir": cfg.workdir,
            "Labels": cfg.labels,
            "StopSignal": strata_container::signals::signal_name(cfg.stop_signal),
            "StopTimeout": cfg.stop_timeout,
            "Tty": cfg.tty,
            "OpenStdin": cfg.interactive,
            "Healthcheck": cfg.healthcheck,
        },
        "NetworkSettings": { "Ports": ports },
        "Cgroup": applied.map(|a| json!({
            "Memory": a.memory, "MemorySwap": a.memory_swap, "CpuQuota": a.cpu_quota,
            "CpuPeriod": a.cpu_period, "CpuShares": a.cpu_shares, "PidsMax": a.pids_max,
        })),
    })
}
