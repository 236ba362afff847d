//! Rules on ENV, ARG, USER, EXPOSE and `useradd`: DL3011 (port out of range), DL3044 (ENV
//! referring to a variable it defines), DL3046 (`useradd` with a high UID and no `-l`),
//! DL3064 (secret-looking ARG/ENV names), DL3066 (non-numeric USER).

use std::collections::HashSet;

use strata_dockerfile::{Instruction, KeyValue};

use super::order::onbuild_triggers;
use super::run::script_of;
use crate::lint::shell::{split, SimpleCommand};
use crate::lint::Context;

/// Every instruction of the stages in file order with its line (meta ARGs are apart).
fn in_order<'a>(ctx: &'a Context) -> Vec<(&'a Instruction, usize)> {
    ctx.stages
        .iter()
        .flat_map(|s| &s.commands)
        .map(|c| (&c.instruction, c.location.start_line))
        .collect()
}

/// The names of the meta ARGs (before the first FROM).
fn meta_arg_names<'a>(ctx: &'a Context) -> impl Iterator<Item = (&'a str, usize)> + 'a {
    ctx.meta_args.iter().flat_map(|m| {
        m.args
            .iter()
            .map(move |a| (a.key.as_str(), m.location.start_line))
    })
}

/// DL3011: an EXPOSEd port or range bound above 65535.
pub fn expose_out_of_range(ctx: &Context) -> Vec<usize> {
    in_order(ctx)
        .into_iter()
        .filter(|(i, _)| match i {
            Instruction::Expose(ports) => ports.iter().any(|p| out_of_range(p)),
            _ => false,
        })
        .map(|(_, l)| l)
        .collect()
}

/// `80`, `80/tcp`, `8000-8010/udp`: a numeric bound above 65535 (variables are not checked).
fn out_of_range(port: &str) -> bool {
    let number = port.split('/').next().unwrap_or(port);
    number
        .split('-')
        .filter_map(|n| n.parse::<u64>().ok())
        .any(|n| n > 65535)
}

/// DL3044: an ENV pair whose name another pair of the same ENV refers to (`$NAME`,
/// `${NAME}`), unless an earlier ENV or ARG defined it already.
pub fn env_self_reference(ctx: &Context) -> Vec<usize> {
    let mut defined: HashSet<&str> = meta_arg_names(ctx).map(|(n, _)| n).collect();
    let mut out = Vec::new();
    for (instr, line) in in_order(ctx) {
        match instr {
            Instruction::Env(pairs) => {
                let bad = pairs.iter().enumerate().any(|(i, p)| {
                    !defined.contains(p.key.as_str()) && referenced_by_others(pairs, i)
                });
                if bad {
                    out.push(line);
                }
                defined.extend(pairs.iter().map(|p| p.key.as_str()));
            }
            Instruction::Arg(args) => defined.extend(args.iter().map(|a| a.key.as_str())),
            _ => {}
        }
    }
    out
}

fn referenced_by_others(pairs: &[KeyValue], idx: usize) -> bool {
    let name = &pairs[idx].key;
    pairs
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != idx)
        .any(|(_, p)| refers_to(&p.value, name))
}

/// `${name}` anywhere, or `$name` not followed by a name character.
fn refers_to(value: &str, name: &str) -> bool {
    if value.contains(&format!("${{{name}}}")) {
        return true;
    }
    let bare = format!("${name}");
    value.split(&bare).skip(1).any(|rest| {
        !rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// DL3046: `useradd -u UID` with a UID of more than 5 digits and no `-l`/`--no-log-init`
/// (the lastlog file grows to the UID's size). RUNs and ONBUILD RUNs.
pub fn useradd_high_uid(ctx: &Context) -> Vec<usize> {
    let runs = in_order(ctx)
        .into_iter()
        .filter_map(|(i, l)| run_text(i).map(|t| (t, l)));
    let triggers = onbuild_triggers(ctx);
    let onbuild = triggers
        .iter()
        .filter_map(|(l, c)| run_text(&c.instruction).map(|t| (t, *l)));
    let mut lines: Vec<usize> = runs
        .chain(onbuild)
        .filter(|(text, _)| split(text).commands.iter().any(forgot_l))
        .map(|(_, l)| l)
        .collect();
    lines.sort_unstable();
    lines
}

fn run_text(i: &Instruction) -> Option<String> {
    match i {
        Instruction::Run(r) => Some(script_of(r)),
        _ => None,
    }
}

/// The flags of a command as hadolint splits them: `--name[=v]` → `name`, `-abc` → a, b, c.
fn flags(cmd: &SimpleCommand) -> Vec<String> {
    cmd.args()
        .iter()
        .flat_map(|a| {
            if a == "-" || a == "--" || !a.starts_with('-') {
                Vec::new()
            } else if let Some(long) = a.strip_prefix("--") {
                vec![long.split('=').next().unwrap_or(long).to_string()]
            } else {
                a[1..].chars().map(String::from).collect()
            }
        })
        .collect()
}

fn forgot_l(cmd: &SimpleCommand) -> bool {
    if cmd.name() != Some("useradd") {
        return false;
    }
    let flags = flags(cmd);
    let has = |names: &[&str]| flags.iter().any(|f| names.contains(&f.as_str()));
    let args = cmd.args();
    let long_uid = args.iter().enumerate().any(|(i, a)| {
        let short_u = a.starts_with('-') && !a.starts_with("--") && a.contains('u');
        short_u && args.get(i + 1).is_some_and(|v| v.chars().count() > 5)
    });
    !has(&["l", "no-log-init"]) && has(&["u", "uid"]) && long_uid
}

/// Names hadolint knows hold secrets.
const SENSITIVE_NAMES: [&str; 48] = [
    "ACCESS_TOKEN",
    "APPLICATION_KEY",
    "APP_SECRET",
    "AUTH_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "BITTREX_API_KEY",
    "BITTREX_API_SECRET",
    "CF_PASSWORD",
    "CF_USERNAME",
    "CIRCLE_TOKEN",
    "CI_DEPLOY_PASSWORD",
    "CI_DEPLOY_USER",
    "DOCKERHUB_PASSWORD",
    "DOCKER_EMAIL",
    "DOCKER_PASSWORD",
    "DOCKER_USERNAME",
    "FACEBOOK_ACCESS_TOKEN",
    "FACEBOOK_APP_ID",
    "FACEBOOK_APP_SECRET",
    "FIREBASE_API_TOKEN",
    "FIREBASE_TOKEN",
    "FOSSA_API_KEY",
    "GH_ENTERPRISE_TOKEN",
    "GH_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITHUB_TOKEN",
    "HEROKU_API_KEY",
    "HEROKU_API_USER",
    "NPM_AUTH_TOKEN",
    "NPM_TOKEN",
    "OKTA_AUTHN_GROUPID",
    "OKTA_CLIENT_ORGURL",
    "OKTA_CLIENT_TOKEN",
    "OKTA_OAUTH2_CLIENTID",
    "OKTA_OAUTH2_CLIENTSECRET",
    "OPENAI_API_KEY",
    "OS_PASSWORD",
    "OS_USERNAME",
    "POSTGRES_PASSWORD",
    "SLACK_TOKEN",
    "STRIPE_API_KEY",
    "STRIPE_DEVICE_NAME",
    "TRAVIS_OS_NAME",
    "TRAVIS_SECURE_ENV_VARS",
    "TRAVIS_SUDO",
    "VAULT_CLIENT_KEY",
    "VAULT_TOKEN",
];

/// Parts of names that suggest a secret.
const SUSPICIOUS: [&str; 7] = [
    "api_key",
    "client_key",
    "password",
    "private",
    "secret",
    "token",
    "username",
];

fn sensitive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_NAMES.contains(&name.to_ascii_uppercase().as_str())
        || SUSPICIOUS.iter().any(|s| lower.contains(s))
}

fn declares_sensitive(i: &Instruction) -> bool {
    match i {
        Instruction::Arg(args) => args.iter().any(|a| sensitive(&a.key)),
        Instruction::Env(pairs) => pairs.iter().any(|p| sensitive(&p.key)),
        _ => false,
    }
}

/// DL3064: an ARG or ENV (also in ONBUILD) whose name looks like a secret: a build argument
/// or variable stays in the image's history and config.
pub fn sensitive_name(ctx: &Context) -> Vec<usize> {
    let meta = meta_arg_names(ctx)
        .filter(|(n, _)| sensitive(n))
        .map(|(_, l)| l);
    let body = in_order(ctx)
        .into_iter()
        .filter(|(i, _)| declares_sensitive(i))
        .map(|(_, l)| l);
    let onbuild = onbuild_triggers(ctx)
        .into_iter()
        .filter(|(_, c)| declares_sensitive(&c.instruction))
        .map(|(l, _)| l);
    let mut lines: Vec<usize> = meta.chain(body).chain(onbuild).collect();
    lines.sort_unstable();
    lines
}

/// DL3066: USER with a non-numeric user id, unless it uses an ARG declared before.
pub fn user_not_numeric(ctx: &Context) -> Vec<usize> {
    let mut args: Vec<&str> = meta_arg_names(ctx).map(|(n, _)| n).collect();
    let mut out = Vec::new();
    for (instr, line) in in_order(ctx) {
        match instr {
            Instruction::Arg(decls) => args.extend(decls.iter().map(|a| a.key.as_str())),
            Instruction::User(user) => {
                let uid = user.split(':').next().unwrap_or(user);
                let numeric = uid.chars().all(|c| c.is_ascii_digit());
                let from_arg = args.iter().any(|a| {
                    user.contains(&format!("${{{a}}}")) || user.contains(&format!("${a}"))
                });
                if !numeric && !from_arg {
                    out.push(line);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::refers_to;

    #[test]
    fn a_bare_reference_ends_at_a_non_name_character() {
        assert!(refers_to("$A/bin", "A"));
        assert!(refers_to("x${A}y", "A"));
        assert!(refers_to("$A", "A"));
        assert!(!refers_to("$AB", "A"));
        assert!(!refers_to("$A_1", "A"));
        assert!(refers_to("$AB:$A", "A"));
    }
}
