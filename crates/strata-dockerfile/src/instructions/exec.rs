//! RUN, CMD and ENTRYPOINT.

use super::flags::{FlagType, Flags};
use super::{IResult, Instruction, NetworkMode, Req, RunCommand, ShellOrExec};
use crate::mount::{default_ssh_targets, parse_mount};
use crate::parser::{chomp_heredoc_content, Heredoc};

/// BuildKit's `handleJSONArgs`: exec form as is, shell form joined into one string.
pub(super) fn shell_or_exec(req: &Req) -> ShellOrExec {
    let args = if req.node.json || req.args.is_empty() {
        req.args.to_vec()
    } else {
        vec![req.args.join(" ")]
    };
    ShellOrExec {
        args,
        prepend_shell: !req.node.json,
    }
}

/// Heredocs with `<<-` bodies chomped, as the typed commands carry them.
pub(super) fn chomped_heredocs(heredocs: &[Heredoc]) -> Vec<Heredoc> {
    heredocs
        .iter()
        .map(|h| {
            let mut h = h.clone();
            if h.chomp {
                h.content = chomp_heredoc_content(&h.content);
            }
            h
        })
        .collect()
}

pub(super) fn parse_cmd_or_entrypoint(req: &Req) -> IResult<Instruction> {
    Flags::parse(&req.node.flags, &[])?;
    let cmd = shell_or_exec(req);
    Ok(if req.node.value == "cmd" {
        Instruction::Cmd(cmd)
    } else {
        Instruction::Entrypoint(cmd)
    })
}

pub(super) const RUN_FLAGS: &[(&str, FlagType)] = &[
    ("mount", FlagType::Strings),
    ("network", FlagType::Str),
    ("security", FlagType::Str),
];

pub(super) fn parse_run(req: &Req) -> IResult<Instruction> {
    let flags = Flags::parse(&req.node.flags, RUN_FLAGS)?;
    let mount_specs = flags.strings("mount");
    let mut mounts = mount_specs
        .iter()
        .map(|spec| parse_mount(spec, None))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    default_ssh_targets(&mut mounts);
    let network = match flags.string("network").as_deref() {
        None => None,
        Some("none") => Some(NetworkMode::None),
        Some("host") => Some(NetworkMode::Host),
        Some("default") => Some(NetworkMode::Default),
        Some(other) => return Err(format!("unsupported network mode {other:?}").into()),
    };
    let security = flags.string("security");
    if let Some(s) = security
        .as_deref()
        .filter(|s| !matches!(*s, "sandbox" | "insecure"))
    {
        return Err(format!("unsupported security mode {s:?}").into());
    }
    Ok(Instruction::Run(RunCommand {
        cmd: shell_or_exec(req),
        heredocs: chomped_heredocs(&req.node.heredocs),
        mounts,
        mount_specs,
        network,
        security,
    }))
}
