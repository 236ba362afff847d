//! Which arguments the builder expands, per BuildKit: ENV, LABEL, EXPOSE, VOLUME, USER,
//! WORKDIR, STOPSIGNAL, COPY/ADD (sources, dest, `--chown`, `--chmod`, `--checksum`,
//! `--exclude`, heredoc bodies whose delimiter was unquoted) and the values of `RUN --mount`.
//! RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/MAINTAINER/ONBUILD are left alone: the shell (or a
//! later build) sees them. ARG is left alone too: the builder expands each default in turn,
//! against a scope that holds the ARGs before it (convert.go `dispatch` skips ARG,
//! `dispatchArg` expands). `COPY --from` is never expanded: a value expansion would change is
//! an error (convert.go `toCommand`).

use super::{Command, Instruction, KeyValue};
use crate::error::ExpandError;
use crate::mount::{default_ssh_targets, parse_mount};
use crate::parser::Heredoc;
use crate::shell::{Env, Lexer};
use std::collections::BTreeSet;

/// A command after expansion and the variable names it referenced (set or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub command: Command,
    pub used: BTreeSet<String>,
}

struct Expander<'a> {
    lexer: &'a Lexer,
    env: &'a dyn Env,
    used: BTreeSet<String>,
}

impl Expander<'_> {
    fn word(&mut self, w: &str) -> Result<String, ExpandError> {
        let r = self.lexer.process(w, self.env)?;
        self.used.extend(r.used());
        Ok(r.result)
    }

    fn opt(&mut self, w: &Option<String>) -> Result<Option<String>, ExpandError> {
        w.as_deref().map(|w| self.word(w)).transpose()
    }

    fn all(&mut self, ws: &[String]) -> Result<Vec<String>, ExpandError> {
        ws.iter().map(|w| self.word(w)).collect()
    }

    fn split(&mut self, ws: &[String]) -> Result<Vec<String>, ExpandError> {
        let mut out = Vec::new();
        for w in ws {
            let r = self.lexer.process(w, self.env)?;
            self.used.extend(r.used());
            out.extend(r.words);
        }
        Ok(out)
    }

    fn kvs(&mut self, kvs: &[KeyValue]) -> Result<Vec<KeyValue>, ExpandError> {
        kvs.iter()
            .map(|kv| {
                Ok(KeyValue {
                    key: self.word(&kv.key)?,
                    value: self.word(&kv.value)?,
                    no_delim: kv.no_delim,
                })
            })
            .collect()
    }

    /// Heredoc bodies: quotes are literal, only `$` and escapes are processed.
    fn heredocs(&mut self, docs: &[Heredoc]) -> Result<Vec<Heredoc>, ExpandError> {
        let raw = Lexer::new('\\').skip_process_quotes(true);
        docs.iter()
            .map(|d| {
                let mut d = d.clone();
                if d.expand {
                    let r = raw.process(&d.content, self.env)?;
                    self.used.extend(r.used());
                    d.content = r.result;
                }
                Ok(d)
            })
            .collect()
    }
}

impl Command {
    /// Expands the arguments BuildKit's builder expands, with `lexer` (carrying the
    /// Dockerfile's escape character) over `env`.
    pub fn expand(&self, lexer: &Lexer, env: &dyn Env) -> Result<Expanded, ExpandError> {
        let mut ex = Expander {
            lexer,
            env,
            used: BTreeSet::new(),
        };
        let instruction = expand_instruction(&self.instruction, &mut ex)?;
        Ok(Expanded {
            command: Command {
                location: self.location.clone(),
                instruction,
            },
            used: ex.used,
        })
    }
}

fn expand_instruction(i: &Instruction, ex: &mut Expander) -> Result<Instruction, ExpandError> {
    use Instruction as I;
    Ok(match i {
        I::Env(kvs) => I::Env(ex.kvs(kvs)?),
        I::Label(kvs) => I::Label(ex.kvs(kvs)?),
        I::Expose(ports) => I::Expose(ex.split(ports)?),
        I::Volume(vols) => I::Volume(ex.all(vols)?),
        I::User(v) => I::User(ex.word(v)?),
        I::Workdir(v) => I::Workdir(ex.word(v)?),
        I::StopSignal(v) => I::StopSignal(ex.word(v)?),
        I::Copy(c) => {
            let mut c = c.clone();
            c.sources = ex.all(&c.sources)?;
            c.dest = ex.word(&c.dest)?;
            c.chown = ex.opt(&c.chown)?;
            c.chmod = ex.opt(&c.chmod)?;
            c.excludes = ex.all(&c.excludes)?;
            c.heredocs = ex.heredocs(&c.heredocs)?;
            I::Copy(c)
        }
        I::Add(a) => {
            let mut a = a.clone();
            a.sources = ex.all(&a.sources)?;
            a.dest = ex.word(&a.dest)?;
            a.chown = ex.opt(&a.chown)?;
            a.chmod = ex.opt(&a.chmod)?;
            a.checksum = ex.opt(&a.checksum)?;
            a.excludes = ex.all(&a.excludes)?;
            a.heredocs = ex.heredocs(&a.heredocs)?;
            I::Add(a)
        }
        I::Run(r) => {
            let mut r = r.clone();
            r.mounts = expand_mounts(&r.mount_specs, ex)?;
            I::Run(r)
        }
        other => other.clone(),
    })
}

fn expand_mounts(
    specs: &[String],
    ex: &mut Expander,
) -> Result<Vec<crate::mount::Mount>, ExpandError> {
    let cell = std::cell::RefCell::new(ex);
    let f = |v: &str| cell.borrow_mut().word(v);
    let mut mounts = specs
        .iter()
        .map(|spec| {
            parse_mount(spec, Some(&f)).map_err(|e| match e {
                crate::mount::MountError::Expand(e) => e,
                other => ExpandError::Invalid {
                    message: other.to_string(),
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    default_ssh_targets(&mut mounts);
    Ok(mounts)
}
