//! Instructions that only change the image config (ENV, LABEL, CMD, …), shared by the build
//! and by `strata import --change`. Each returns the history text docker would record.

use std::collections::BTreeSet;
use std::time::Duration;

use strata_dockerfile::instructions::{Healthcheck, Instruction, KeyValue, ShellOrExec};
use strata_dockerfile::parser::go_quote;
use strata_oci::config::Empty;
use strata_oci::{HealthConfig, ImageConfig};

use crate::state::ports::{expose_keys, PortError};

/// The default `PATH` docker gives a Linux image that sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Per-stage facts metadata instructions need besides the config.
#[derive(Debug, Default)]
pub struct MetaState {
    /// CMD was set in this stage (an ENTRYPOINT then keeps it).
    pub cmd_set: bool,
}

/// A config instruction whose (expanded) value BuildKit refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetaError {
    #[error(transparent)]
    Port(#[from] PortError),
    /// `moby/sys/signal.ParseSignal`, as BuildKit's `dispatchStopSignal` calls it.
    #[error("invalid signal: {0}")]
    Signal(String),
    /// BuildKit's `dispatchVolume`.
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
}

/// Applies a metadata instruction (already expanded) to `config`. Returns the history
/// `created_by`, or `None` when `instr` is not a metadata instruction; a refused value
/// changes nothing.
pub fn apply(
    config: &mut ImageConfig,
    instr: &Instruction,
    st: &mut MetaState,
) -> Result<Option<String>, MetaError> {
    match instr {
        Instruction::Expose(specs) => return Ok(Some(expose(config, specs)?)),
        Instruction::StopSignal(s) if !is_signal(s) => return Err(MetaError::Signal(s.clone())),
        Instruction::Volume(v) if v.iter().any(String::is_empty) => {
            return Err(MetaError::EmptyVolume)
        }
        _ => {}
    }
    Ok(apply_infallible(config, instr, st))
}

/// Whether BuildKit writes a history entry for `instr`: every config instruction does except
/// ONBUILD (`convert.go` dispatchOnbuild only appends the trigger).
pub fn records_history(instr: &Instruction) -> bool {
    !matches!(instr, Instruction::Onbuild(_))
}

/// Linux signal names `moby/sys/signal` knows (`SIG` prefix optional, any case).
const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
];

/// `ParseSignal`: a non-zero number, or a known name (`SIG` prefix optional, any case).
fn is_signal(raw: &str) -> bool {
    if let Ok(n) = raw.parse::<i64>() {
        return n != 0;
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS.contains(&name) || is_realtime(name)
}

/// `RTMIN`, `RTMIN+1`…`RTMIN+15`, `RTMAX-14`…`RTMAX-1`, `RTMAX`.
fn is_realtime(name: &str) -> bool {
    let offset = |n: &str, max: u32| {
        n.parse::<u32>()
            .is_ok_and(|v| (1..=max).contains(&v) && v.to_string() == n)
    };
    matches!(name, "RTMIN" | "RTMAX")
        || name.strip_prefix("RTMIN+").is_some_and(|n| offset(n, 15))
        || name.strip_prefix("RTMAX-").is_some_and(|n| offset(n, 14))
}

/// EXPOSE: each spec's ports, all checked before any is recorded. The history text is
/// docker's `EXPOSE map[80/tcp:{} …]` (keys sorted, as Go prints a map); BuildKit v0.24
/// prints a struct pointer there instead (`convert_expose.go`), which strata does not copy.
fn expose(config: &mut ImageConfig, specs: &[String]) -> Result<String, PortError> {
    let mut keys = BTreeSet::new();
    for spec in specs {
        keys.extend(expose_keys(spec)?);
    }
    let text = keys
        .iter()
        .map(|k| format!("{k}:{{}}"))
        .collect::<Vec<_>>()
        .join(" ");
    for key in keys {
        config.config.exposed_ports.insert(key, Empty {});
    }
    Ok(format!("EXPOSE map[{text}]"))
}

fn apply_infallible(
    config: &mut ImageConfig,
    instr: &Instruction,
    st: &mut MetaState,
) -> Option<String> {
    let rc = &mut config.config;
    let text = match instr {
        Instruction::Env(kvs) => {
            for kv in kvs {
                rc.env_set(&kv.key, &kv.value);
            }
            format!("ENV {}", pairs(kvs))
        }
        Instruction::Label(kvs) => {
            for kv in kvs {
                rc.labels.insert(kv.key.clone(), kv.value.clone());
            }
            format!("LABEL {}", pairs(kvs))
        }
        Instruction::Maintainer(m) => {
            config.author = Some(m.clone());
            format!("MAINTAINER {m}")
        }
        Instruction::Volume(vols) => {
            for v in vols {
                rc.volumes.insert(v.clone(), Empty {});
            }
            format!("VOLUME [{}]", vols.join(" "))
        }
        Instruction::User(u) => {
            rc.user = u.clone();
            format!("USER {u}")
        }
        Instruction::StopSignal(s) => {
            rc.stop_signal = s.clone();
            format!("STOPSIGNAL {s}")
        }
        Instruction::Shell(sh) => {
            rc.shell = sh.clone();
            format!("SHELL [{}]", sh.join(" "))
        }
        Instruction::Onbuild(expr) => {
            rc.on_build.push(expr.clone());
            format!("ONBUILD {expr}")
        }
        Instruction::Cmd(c) => {
            let args = with_shell(c, &rc.shell);
            rc.cmd = Some(args.clone());
            rc.args_escaped = true;
            st.cmd_set = true;
            format!("CMD {}", go_list(&args))
        }
        Instruction::Entrypoint(c) => {
            let args = with_shell(c, &rc.shell);
            rc.entrypoint = Some(args.clone());
            if !st.cmd_set {
                rc.cmd = None;
            }
            format!("ENTRYPOINT {}", go_list(&args))
        }
        Instruction::Healthcheck(h) => {
            rc.healthcheck = Some(health(h));
            format!("HEALTHCHECK {}", json(&h.test))
        }
        _ => return None,
    };
    Some(text)
}

/// A shell-form command wrapped in the image's SHELL (default `/bin/sh -c`).
pub fn with_shell(c: &ShellOrExec, shell: &[String]) -> Vec<String> {
    if !c.prepend_shell {
        return c.args.clone();
    }
    let mut out = default_shell(shell);
    out.push(c.args.join(" "));
    out
}

pub fn default_shell(shell: &[String]) -> Vec<String> {
    if shell.is_empty() {
        vec!["/bin/sh".to_owned(), "-c".to_owned()]
    } else {
        shell.to_vec()
    }
}

fn health(h: &Healthcheck) -> HealthConfig {
    let ns = |d: Option<Duration>| d.map_or(0, |d| d.as_nanos() as u64);
    HealthConfig {
        test: h.test.clone(),
        interval: ns(h.interval),
        timeout: ns(h.timeout),
        start_period: ns(h.start_period),
        start_interval: ns(h.start_interval),
        retries: h.retries.map_or(0, u64::from),
    }
}

fn pairs(kvs: &[KeyValue]) -> String {
    kvs.iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect::<Vec<_>>()
        .join(" ")
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialise")
}

/// A list as Go's `%q` prints a `[]string` (BuildKit's CMD and ENTRYPOINT history).
fn go_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", items.join(" "))
}

/// Adds `PATH` when the image sets none, as docker does for every Linux stage.
pub fn ensure_default_path(config: &mut ImageConfig) {
    if config.config.env_get("PATH").is_none() {
        config.config.env_set("PATH", DEFAULT_PATH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn se(args: &[&str], shell: bool) -> ShellOrExec {
        ShellOrExec {
            args: args.iter().map(|s| s.to_string()).collect(),
            prepend_shell: shell,
        }
    }

    #[test]
    fn entrypoint_clears_inherited_cmd_but_not_one_set_here() {
        let mut c = ImageConfig::scratch("amd64");
        c.config.cmd = Some(vec!["inherited".into()]);
        let mut st = MetaState::default();
        apply(
            &mut c,
            &Instruction::Entrypoint(se(&["/app"], false)),
            &mut st,
        )
        .unwrap();
        assert_eq!(c.config.cmd, None);
        apply(&mut c, &Instruction::Cmd(se(&["--help"], false)), &mut st).unwrap();
        apply(
            &mut c,
            &Instruction::Entrypoint(se(&["/app2"], false)),
            &mut st,
        )
        .unwrap();
        assert_eq!(c.config.cmd, Some(vec!["--help".to_string()]));
    }

    #[test]
    fn shell_form_uses_shell_instruction() {
        let mut c = ImageConfig::scratch("amd64");
        let mut st = MetaState::default();
        apply(
            &mut c,
            &Instruction::Shell(vec!["/bin/bash".into(), "-ec".into()]),
            &mut st,
        )
        .unwrap();
        let by = apply(
            &mut c,
            &Instruction::Cmd(se(&["echo", "hi"], true)),
            &mut st,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.config.cmd.as_ref().unwrap(),
            &["/bin/bash", "-ec", "echo hi"]
        );
        // convert.go dispatchCmd: `CMD %q` of the args, and ArgsEscaped set.
        assert_eq!(by, r#"CMD ["/bin/bash" "-ec" "echo hi"]"#);
        assert!(c.config.args_escaped);
    }

    #[test]
    fn stopsignal_and_volume_are_checked_like_buildkit() {
        // convert.go dispatchStopSignal (moby/sys/signal.ParseSignal) and dispatchVolume.
        for good in ["SIGKILL", "kill", "9", "RTMIN+3", "SIGRTMAX-14", "sigusr1"] {
            assert!(is_signal(good), "{good}");
        }
        for bad in ["", "0", "SIGFOO", "RTMIN+16", "RTMAX-0", "RTMIN+03"] {
            assert!(!is_signal(bad), "{bad}");
        }
        let mut c = ImageConfig::scratch("amd64");
        let mut st = MetaState::default();
        let err = apply(&mut c, &Instruction::StopSignal("SIGFOO".into()), &mut st);
        assert_eq!(err.unwrap_err().to_string(), "invalid signal: SIGFOO");
        let vols = Instruction::Volume(vec!["/a".into(), String::new()]);
        assert_eq!(apply(&mut c, &vols, &mut st), Err(MetaError::EmptyVolume));
        assert!(c.config.volumes.is_empty() && c.config.stop_signal.is_empty());
    }

    #[test]
    fn ports_env_and_path() {
        let mut c = ImageConfig::scratch("amd64");
        let mut st = MetaState::default();
        let by = apply(
            &mut c,
            &Instruction::Expose(vec!["80".into(), "8000-8001".into(), "53/UDP".into()]),
            &mut st,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.config.exposed_ports.keys().collect::<Vec<_>>(),
            ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]
        );
        assert_eq!(
            by,
            "EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]"
        );
        let bad = Instruction::Expose(vec!["81".into(), "80/icmp".into()]);
        assert!(apply(&mut c, &bad, &mut st).is_err());
        assert!(
            !c.config.exposed_ports.contains_key("81/tcp"),
            "an invalid EXPOSE records none of its ports"
        );
        ensure_default_path(&mut c);
        assert_eq!(c.config.env_get("PATH"), Some(DEFAULT_PATH));
    }
}
