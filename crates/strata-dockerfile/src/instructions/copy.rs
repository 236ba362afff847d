//! COPY and ADD.

use super::exec::chomped_heredocs;
use super::flags::{FlagType, Flags};
use super::{AddCommand, CopyCommand, IResult, Instruction, Req};
use crate::parser::{parse_heredoc, Heredoc};

pub(super) const COPY_FLAGS: &[(&str, FlagType)] = &[
    ("from", FlagType::Str),
    ("chown", FlagType::Str),
    ("chmod", FlagType::Str),
    ("link", FlagType::Bool),
    ("parents", FlagType::Bool),
    ("exclude", FlagType::Strings),
];

pub(super) const ADD_FLAGS: &[(&str, FlagType)] = &[
    ("chown", FlagType::Str),
    ("chmod", FlagType::Str),
    ("link", FlagType::Bool),
    ("exclude", FlagType::Strings),
    ("checksum", FlagType::Str),
    ("keep-git-dir", FlagType::Bool),
    ("unpack", FlagType::Bool),
];

struct SourcesAndDest {
    sources: Vec<String>,
    dest: String,
    heredocs: Vec<Heredoc>,
}

/// BuildKit's `parseSourcesAndDest`: the last argument is the destination; `<<NAME` sources
/// are replaced by the matching heredoc.
fn sources_and_dest(req: &Req, cmd: &str) -> IResult<SourcesAndDest> {
    let Some((dest, srcs)) = req.args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(format!(
            "{cmd} requires at least two arguments, but only one was provided. Destination could not be determined"
        )
        .into());
    };
    if !req.node.json && parse_heredoc(dest)?.is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination").into());
    }
    let docs = chomped_heredocs(&req.node.heredocs);
    let mut out = SourcesAndDest {
        sources: Vec::new(),
        dest: dest.clone(),
        heredocs: Vec::new(),
    };
    for src in srcs {
        let doc = if req.node.json {
            None
        } else {
            parse_heredoc(src)?
        };
        match doc {
            Some(h) => {
                let content = docs
                    .iter()
                    .find(|d| d.name == h.name)
                    .map(|d| d.content.clone());
                out.heredocs.push(Heredoc {
                    content: content.unwrap_or_default(),
                    ..h
                });
            }
            None => out.sources.push(src.clone()),
        }
    }
    Ok(out)
}

pub(super) fn parse_copy(req: &Req) -> IResult<Instruction> {
    let flags = Flags::parse(&req.node.flags, COPY_FLAGS)?;
    let sd = sources_and_dest(req, "COPY")?;
    Ok(Instruction::Copy(CopyCommand {
        sources: sd.sources,
        dest: sd.dest,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        parents: flags.bool("parents"),
        excludes: flags.strings("exclude"),
        heredocs: sd.heredocs,
    }))
}

pub(super) fn parse_add(req: &Req) -> IResult<Instruction> {
    let flags = Flags::parse(&req.node.flags, ADD_FLAGS)?;
    let sd = sources_and_dest(req, "ADD")?;
    Ok(Instruction::Add(AddCommand {
        sources: sd.sources,
        dest: sd.dest,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        excludes: flags.strings("exclude"),
        heredocs: sd.heredocs,
        checksum: flags.string("checksum"),
        keep_git_dir: flags.bool_opt("keep-git-dir"),
        unpack: flags.bool_opt("unpack"),
    }))
}
