//! ENV, LABEL and ARG.

use super::flags::Flags;
use super::{err_at_least_one, ArgDecl, IResult, Instruction, KeyValue, Req};

/// ENV/LABEL: the parser's `key value sep` triples.
pub(super) fn parse_env_or_label(req: &Req) -> IResult<Instruction> {
    let name = req.node.value.to_uppercase();
    Flags::parse(&req.node.flags, &[])?;
    let args = req.args;
    if args.is_empty() {
        return Err(err_at_least_one(&name));
    }
    if !args.chunks_exact(3).remainder().is_empty() {
        return Err(format!("Bad input to {name}, too many arguments").into());
    }
    let mut pairs = Vec::with_capacity(args.len() / 3);
    for triple in args.chunks(3) {
        if triple[0].is_empty() {
            return Err(format!("{name} names can not be blank").into());
        }
        pairs.push(KeyValue {
            key: triple[0].clone(),
            value: triple[1].clone(),
            no_delim: triple[2].is_empty(),
        });
    }
    Ok(if name == "ENV" {
        Instruction::Env(pairs)
    } else {
        Instruction::Label(pairs)
    })
}

/// ARG: `NAME` or `NAME=value` words.
pub(super) fn parse_arg(req: &Req) -> IResult<Instruction> {
    Flags::parse(&req.node.flags, &[])?;
    if req.args.is_empty() {
        return Err("ARG requires at least one argument".into());
    }
    let mut decls = Vec::new();
    for arg in req.args {
        let decl = match arg.split_once('=') {
            Some(("", _)) => return Err("ARG names can not be blank".into()),
            Some((k, v)) => ArgDecl {
                key: k.to_string(),
                value: Some(v.to_string()),
            },
            None => ArgDecl {
                key: arg.clone(),
                value: None,
            },
        };
        decls.push(decl);
    }
    Ok(Instruction::Arg(decls))
}
