//! FROM, and the one-argument or list instructions: MAINTAINER USER WORKDIR STOPSIGNAL
//! EXPOSE VOLUME SHELL ONBUILD.

use super::flags::{FlagType, Flags};
use super::{err_at_least_one, err_exactly_one, IResult, Instruction, Location, Req, Stage};

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

pub(super) const FROM_FLAGS: &[(&str, FlagType)] = &[("platform", FlagType::Str)];

/// FROM [--platform=p] image [AS name].
pub(super) fn parse_from(req: &Req) -> IResult<Stage> {
    let args = req.args;
    let name = match args.len() {
        3 if args[1].eq_ignore_ascii_case("as") => {
            let name = args[2].to_lowercase();
            if !valid_stage_name(&name) {
                return Err(format!(
                    "invalid name for build stage: {:?}, name can't start with a number or contain symbols",
                    args[2]
                )
                .into());
            }
            Some(name)
        }
        1 => None,
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    let flags = Flags::parse(&req.node.flags, FROM_FLAGS)?;
    Ok(Stage {
        name,
        base_name: args[0].clone(),
        platform: flags.string("platform").filter(|p| !p.is_empty()),
        commands: Vec::new(),
        location: Location {
            start_line: req.node.start_line,
            end_line: req.node.end_line,
            original: req.node.original.clone(),
        },
    })
}

/// MAINTAINER, USER, WORKDIR, STOPSIGNAL: exactly one argument.
pub(super) fn parse_single(req: &Req) -> IResult<Instruction> {
    let name = req.node.value.to_uppercase();
    Flags::parse(&req.node.flags, &[])?;
    let [value] = req.args else {
        return Err(err_exactly_one(&name));
    };
    let value = value.clone();
    Ok(match &req.node.value[..] {
        "maintainer" => Instruction::Maintainer(value),
        "user" => Instruction::User(value),
        "workdir" => Instruction::Workdir(value),
        _ => Instruction::StopSignal(value),
    })
}

/// EXPOSE and VOLUME: at least one argument.
pub(super) fn parse_list(req: &Req) -> IResult<Instruction> {
    let name = req.node.value.to_uppercase();
    Flags::parse(&req.node.flags, &[])?;
    if req.args.is_empty() {
        return Err(err_at_least_one(&name));
    }
    let values = req.args.to_vec();
    if req.node.value == "expose" {
        return Ok(Instruction::Expose(values));
    }
    if values.iter().any(|v| v.trim().is_empty()) {
        return Err("VOLUME specified can not be an empty string".into());
    }
    Ok(Instruction::Volume(values))
}

/// SHELL: a non-empty JSON array.
pub(super) fn parse_shell(req: &Req) -> IResult<Instruction> {
    Flags::parse(&req.node.flags, &[])?;
    if !req.node.json {
        return Err("SHELL requires the arguments to be in JSON form".into());
    }
    if req.args.is_empty() {
        return Err("SHELL requires at least one argument".into());
    }
    Ok(Instruction::Shell(req.args.to_vec()))
}

/// ONBUILD: the trigger's text; ONBUILD, FROM and MAINTAINER are not allowed as triggers.
pub(super) fn parse_onbuild(req: &Req) -> IResult<Instruction> {
    Flags::parse(&req.node.flags, &[])?;
    let Some(sub) = &req.node.sub else {
        return Err(err_at_least_one("ONBUILD"));
    };
    let trigger = sub.keyword().to_uppercase();
    match &trigger[..] {
        "ONBUILD" => {
            return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into());
        }
        "MAINTAINER" | "FROM" => {
            return Err(format!("{trigger} isn't allowed as an ONBUILD trigger").into());
        }
        _ => {}
    }
    let original = req.node.original.trim_start();
    let expression = original
        .get(req.keyword.len()..)
        .unwrap_or_default()
        .trim_start();
    Ok(Instruction::Onbuild(expression.to_string()))
}
