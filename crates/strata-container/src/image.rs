//! docker's image-config semantics for `run`: ENTRYPOINT/CMD with
//! `--entrypoint`, USER against the image's `/etc/passwd` and `/etc/group`,
//! Env with `--env-file` and `-e`, WORKDIR, STOPSIGNAL and HEALTHCHECK.

use std::path::{Path, PathBuf};

use strata_oci::config::{HealthConfig, RuntimeConfig};

use crate::error::{invalid, io_err, Result};
use crate::signals::parse_signal;
use crate::spec::HealthCheck;

/// The command: `(entrypoint, cmd, argv)`.
///
/// `--entrypoint X` replaces the image's ENTRYPOINT with `[X]` and clears its
/// CMD unless arguments follow the image; `--entrypoint ""` clears it; args
/// after the image replace CMD.
pub fn command(
    entrypoint_flag: Option<&str>,
    args: &[String],
    image: &RuntimeConfig,
) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let entrypoint = match entrypoint_flag {
        Some("") => Vec::new(),
        Some(e) => vec![e.to_string()],
        None => image.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = if !args.is_empty() {
        args.to_vec()
    } else if entrypoint_flag.is_some() {
        Vec::new()
    } else {
        image.cmd.clone().unwrap_or_default()
    };
    let argv: Vec<String> = entrypoint.iter().chain(&cmd).cloned().collect();
    if argv.is_empty() {
        return Err(invalid("command", "no command specified"));
    }
    Ok((entrypoint, cmd, argv))
}

/// The environment: the image's, then `--env-file` lines, then `-e` (later
/// wins, in place). `K` alone takes `K` from `host` and is dropped when unset.
pub fn environment(
    image_env: &[String],
    env_files: &[PathBuf],
    flags: &[String],
    host: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let mut env: Vec<String> = image_env.to_vec();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, strata_executor::DEFAULT_PATH.to_string());
    }
    let mut entries = Vec::new();
    for file in env_files {
        entries.extend(read_env_file(file)?);
    }
    entries.extend(flags.iter().cloned());
    for entry in entries {
        let (key, value) = match entry.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (entry.clone(), host(&entry)),
        };
        if key.is_empty() {
            return Err(invalid(
                "-e",
                format!("invalid environment variable: {entry}"),
            ));
        }
        let Some(value) = value else { continue };
        let line = format!("{key}={value}");
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map(|p| p.0) == Some(&key))
        {
            Some(slot) => *slot = line,
            None => env.push(line),
        }
    }
    Ok(env)
}

/// docker's env-file format: `KEY=value` or `KEY` (from the host) per line,
/// `#` comments and blank lines skipped, no quotes processing, no whitespace in keys.
pub fn read_env_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(io_err("read env file", path))?;
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line.split_once('=').map_or(line, |p| p.0);
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(invalid(
                "--env-file",
                format!(
                    "{}:{}: variable {key:?} contains whitespaces or is empty",
                    path.display(),
                    n + 1
                ),
            ));
        }
        out.push(line.to_string());
    }
    Ok(out)
}

/// A resolved user: `(uid, gid, supplementary gids)`.
pub type Ids = (u32, u32, Vec<u32>);

/// Resolves `user` (`name|uid[:group|gid]`, empty = root) against the image's
/// `/etc/passwd` and `/etc/group`, read through `lookup` (a path in the image →
/// its content, `None` when missing).
pub fn resolve_user(user: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Ids> {
    if user.is_empty() {
        return Ok((0, 0, Vec::new()));
    }
    let (name, group) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = lookup("/etc/passwd").unwrap_or_default();
    let groups = lookup("/etc/group").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && (f[0] == name || f[2] == name));
    let (uid, mut gid, user_name) = match (&entry, name.parse::<u32>()) {
        (Some(f), _) => (
            parse_id(f[2], user)?,
            parse_id(f[3], user)?,
            f[0].to_string(),
        ),
        (None, Ok(uid)) => (uid, 0, String::new()),
        (None, Err(_)) => {
            return Err(invalid(
                "-u",
                format!("unable to find user {name}: no matching entries in passwd file"),
            ))
        }
    };
    if let Some(g) = group {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group_id(&groups, g).ok_or_else(|| {
                invalid(
                    "-u",
                    format!("unable to find group {g}: no matching entries in group file"),
                )
            })?,
        };
    }
    let extra = if group.is_none() && !user_name.is_empty() {
        supplementary(&groups, &user_name, gid)
    } else {
        Vec::new()
    };
    Ok((uid, gid, extra))
}

fn parse_id(s: &str, user: &str) -> Result<u32> {
    s.parse().map_err(|_| {
        invalid(
            "-u",
            format!("{user}: bad id {s:?} in the image's passwd file"),
        )
    })
}

fn group_id(groups: &str, name: &str) -> Option<u32> {
    groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[0] == name)
        .and_then(|f| f[2].parse().ok())
}

fn supplementary(groups: &str, user: &str, primary: u32) -> Vec<u32> {
    groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4 && f[3].split(',').any(|m| m == user))
        .filter_map(|f| f[2].parse().ok())
        .filter(|&g| g != primary)
        .collect()
}

/// Reads `path` (absolute in the image) from the top-most of `lowers` (layer
/// dirs, top-most first) that has it, following no symlinks out of the layers.
pub fn read_from_layers(lowers: &[PathBuf], path: &str) -> Option<String> {
    let rel = path.trim_start_matches('/');
    lowers
        .iter()
        .map(|l| l.join(rel))
        .find(|p| p.symlink_metadata().is_ok())
        .and_then(|p| std::fs::read_to_string(p).ok())
}

/// `-w` or the image's WORKDIR, else `/`; must be absolute.
pub fn workdir(flag: Option<&str>, image: &RuntimeConfig) -> Result<String> {
    let dir = flag
        .map(str::to_string)
        .or_else(|| (!image.working_dir.is_empty()).then(|| image.working_dir.clone()))
        .unwrap_or_else(|| "/".into());
    if !dir.starts_with('/') {
        return Err(invalid(
            "-w",
            format!("the working directory '{dir}' is invalid, it needs to be an absolute path"),
        ));
    }
    Ok(dir)
}

/// STOPSIGNAL (default SIGTERM).
pub fn stop_signal(image: &RuntimeConfig) -> Result<i32> {
    if image.stop_signal.is_empty() {
        return Ok(libc::SIGTERM);
    }
    parse_signal(&image.stop_signal).map_err(|_| {
        invalid(
            "STOPSIGNAL",
            format!("invalid signal {:?} in the image", image.stop_signal),
        )
    })
}

/// The image's HEALTHCHECK with docker's defaults (30 s interval and timeout,
/// 3 retries); `NONE` and an empty test give none.
pub fn healthcheck(h: Option<&HealthConfig>) -> Option<HealthCheck> {
    let h = h?;
    if h.test.is_empty() || h.test[0] == "NONE" {
        return None;
    }
    let or = |v: u64, d: u64| if v == 0 { d } else { v };
    const S: u64 = 1_000_000_000;
    Some(HealthCheck {
        test: h.test.clone(),
        interval: or(h.interval, 30 * S),
        timeout: or(h.timeout, 30 * S),
        start_period: h.start_period,
        retries: or(h.retries, 3) as u32,
        start_interval: or(h.start_interval, 5 * S),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(ep: Option<&[&str]>, cmd: Option<&[&str]>) -> RuntimeConfig {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        RuntimeConfig {
            entrypoint: ep.map(v),
            cmd: cmd.map(v),
            ..RuntimeConfig::default()
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_follow_docker() {
        let img = image(Some(&["/ep"]), Some(&["a", "b"]));
        assert_eq!(command(None, &[], &img).unwrap().2, s(&["/ep", "a", "b"]));
        assert_eq!(command(None, &s(&["x"]), &img).unwrap().2, s(&["/ep", "x"]));
        // --entrypoint clears CMD unless args follow.
        assert_eq!(command(Some("/sh"), &[], &img).unwrap().2, s(&["/sh"]));
        assert_eq!(
            command(Some("/sh"), &s(&["-c", "1"]), &img).unwrap().2,
            s(&["/sh", "-c", "1"])
        );
        // --entrypoint "" leaves the args alone.
        assert_eq!(command(Some(""), &s(&["ls"]), &img).unwrap().2, s(&["ls"]));
        let e = command(Some(""), &[], &img).unwrap_err().to_string();
        assert!(e.contains("no command specified"), "{e}");
        let only_cmd = image(None, Some(&["sh"]));
        assert_eq!(command(None, &[], &only_cmd).unwrap().2, s(&["sh"]));
    }

    #[test]
    fn env_merges_files_flags_and_host() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("env");
        std::fs::write(
            &file,
            "# comment\n\nA=file\nHOSTVAR\nB=has spaces in value\n",
        )
        .unwrap();
        let host = |k: &str| (k == "HOSTVAR").then(|| "fromhost".to_string());
        let env = environment(
            &s(&["PATH=/bin", "A=image", "C=image"]),
            &[file],
            &s(&["C=flag", "MISSING", "D=x=y"]),
            &host,
        )
        .unwrap();
        assert_eq!(
            env,
            s(&[
                "PATH=/bin",
                "A=file",
                "C=flag",
                "HOSTVAR=fromhost",
                "B=has spaces in value",
                "D=x=y"
            ])
        );
        let bad = tmp.path().join("bad");
        std::fs::write(&bad, "OK=1\nBAD KEY=2\n").unwrap();
        let e = read_env_file(&bad).unwrap_err().to_string();
        assert!(e.contains("bad:2") && e.contains("whitespaces"), "{e}");
        let no_path = environment(&[], &[], &[], &|_| None).unwrap();
        assert!(no_path[0].starts_with("PATH="));
    }

    #[test]
    fn users_resolve_in_the_image() {
        let files = |p: &str| match p {
            "/etc/passwd" => {
                Some("root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n".into())
            }
            "/etc/group" => Some("root:x:0:\nwww:x:33:\nweb:x:50:www,other\n".into()),
            _ => None,
        };
        assert_eq!(resolve_user("", &files).unwrap(), (0, 0, vec![]));
        assert_eq!(resolve_user("www", &files).unwrap(), (33, 33, vec![50]));
        assert_eq!(resolve_user("33", &files).unwrap(), (33, 33, vec![50]));
        assert_eq!(
            resolve_user("1000:1000", &files).unwrap(),
            (1000, 1000, vec![])
        );
        assert_eq!(resolve_user("www:web", &files).unwrap(), (33, 50, vec![]));
        let e = resolve_user("nobody", &files).unwrap_err().to_string();
        assert!(e.contains("unable to find user nobody"), "{e}");
        let e = resolve_user("www:nogroup", &files).unwrap_err().to_string();
        assert!(e.contains("unable to find group nogroup"), "{e}");
    }

    #[test]
    fn workdir_signal_and_health_defaults() {
        let mut img = RuntimeConfig::default();
        assert_eq!(workdir(None, &img).unwrap(), "/");
        img.working_dir = "/app".into();
        assert_eq!(workdir(None, &img).unwrap(), "/app");
        assert_eq!(workdir(Some("/x"), &img).unwrap(), "/x");
        assert!(workdir(Some("rel"), &img).is_err());
        assert_eq!(stop_signal(&img).unwrap(), libc::SIGTERM);
        img.stop_signal = "SIGUSR1".into();
        assert_eq!(stop_signal(&img).unwrap(), libc::SIGUSR1);
        let h = HealthConfig {
            test: s(&["CMD-SHELL", "true"]),
            ..HealthConfig::default()
        };
        let got = healthcheck(Some(&h)).unwrap();
        assert_eq!((got.interval, got.retries), (30_000_000_000, 3));
        let none = HealthConfig {
            test: s(&["NONE"]),
            ..HealthConfig::default()
        };
        assert_eq!(healthcheck(Some(&none)), None);
    }
}
