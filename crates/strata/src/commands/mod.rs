//! One module per verb. Each takes its parsed arguments and the open store; data goes to
//! stdout, progress and logs to stderr.

mod analyze;
mod base;
pub(crate) mod build;
mod checks;
mod container;
mod govern;
mod image_source;
mod images;
mod import;
mod inspect;
mod interop;
mod lint;
mod login;
mod prune;
mod registry;
mod retention;
mod robot;
mod sbom;
mod scan;
mod transfer;

use std::path::PathBuf;

use anyhow::{Context, Result};
use strata_content::Store;

use crate::cli::{Cli, Command, Global};

/// Writes one line of data to stdout. A reader that went away (`strata images | head`) comes
/// back as an [`std::io::ErrorKind::BrokenPipe`] error, which `main` treats as the end of
/// the output rather than a failure (instead of the panic `println!` gives).
pub fn out(line: impl std::fmt::Display) -> Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

pub fn run(cli: Cli) -> Result<()> {
    // Verbs that need no store.
    let command = match cli.command {
        Command::Login(args) => return login::login(args),
        Command::Logout { registry } => return login::logout(&registry),
        Command::Registry(command) => return registry::run(command),
        Command::Lint(args) => return lint::run(args),
        Command::Owner(c) => return govern::owner(c),
        Command::Label(c) => return govern::label(c),
        Command::Promote(args) => return govern::promote(args),
        Command::Promotions(args) => return govern::promotions(args),
        Command::Lineage(c) => return govern::lineage(c),
        Command::Copy(args) if !args.uses_store() => return transfer::copy(None, args),
        // The monitor must not open the store (its database): it only needs the root.
        Command::ContainerMonitor { id, attach } => {
            let root = cli.global.root.clone().unwrap_or_else(default_root);
            return container::monitor(&root, &id, attach);
        }
        other => other,
    };
    enter_rootless(&cli.global, matches!(command, Command::Run(_)))?;
    let store = open_store(&cli.global)?;
    match command {
        Command::Build(args) => build::run(&store, *args),
        Command::Images(args) => images::run(&store, args),
        Command::Inspect(args) => inspect::run(&store, args),
        Command::Tag { source, target } => images::tag(&store, &source, &target),
        Command::Rmi { images, force } => images::rmi(&store, &images, force),
        Command::Prune(args) => prune::run(&store, args),
        Command::Save { output, images } => interop::save(&store, &output, &images),
        Command::Load { input } => interop::load(&store, &input),
        Command::Import(args) => import::run(&store, args),
        Command::Export(args) => interop::export(&store, args),
        Command::Pull(args) => transfer::pull(&store, args),
        Command::Push(args) => transfer::push(&store, args),
        Command::Copy(args) => transfer::copy(Some(&store), args),
        Command::Analyze(args) => analyze::run(&store, args),
        Command::Sbom(args) => sbom::run(&store, args),
        Command::Scan(args) => scan::run(&store, args),
        Command::Run(args) => container::run::run(&store, *args),
        Command::Ps(args) => container::ps(store.root(), args),
        Command::Logs(args) => container::logs(store.root(), args),
        Command::Stop(args) => container::stop(store.root(), args),
        Command::Kill(args) => container::kill(store.root(), args),
        Command::Rm(args) => container::rm(store.root(), args),
        Command::Exec(args) => container::exec(store.root(), args),
        Command::Port { container, port } => {
            container::port(store.root(), &container, port.as_deref())
        }
        Command::ContainerMonitor { .. } => unreachable!("handled above"),
        Command::Base(command) => base::run(&store, command),
        Command::Rebuild(args) => govern::rebuild::run(&store, *args),
        Command::Owner(_)
        | Command::Label(_)
        | Command::Promote(_)
        | Command::Promotions(_)
        | Command::Lineage(_) => unreachable!("handled above"),
        Command::Login(_) | Command::Logout { .. } | Command::Registry(_) | Command::Lint(_) => {
            unreachable!("handled above")
        }
    }
}

/// A failure that carries its own exit code (`strata scan --exit-code N`); `main` prints
/// the message and exits with the code.
#[derive(Debug)]
pub struct ExitWith {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitWith {}

/// Without root, strata continues inside a user namespace (docs/RUN.md, "Rootless"):
/// re-executed under `unshare` with the user's subordinate ids, the store where it would be.
/// A user without a subordinate range (or the tools) goes on as before, except for `run`,
/// which cannot work without and says what is missing.
fn enter_rootless(global: &crate::cli::Global, needs_userns: bool) -> Result<()> {
    use std::os::unix::process::CommandExt;
    use strata_container::rootless;
    if rustix::process::geteuid().is_root() || rootless::in_user_namespace() {
        return Ok(());
    }
    let (uids, gids) = match rootless::user_ranges() {
        Ok(ranges) => ranges,
        Err(e) if needs_userns => return Err(e.into()),
        Err(_) => return Ok(()),
    };
    let root = global.root.clone().unwrap_or_else(default_root);
    std::fs::create_dir_all(&root)?;
    let exe = std::env::current_exe()?;
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let err = rootless::reexec_command(&exe, &args, &root, uids, gids).exec();
    Err(anyhow::Error::new(err).context("re-executing strata in a user namespace (unshare)"))
}

/// `--root`, `STRATA_ROOT`, else `/var/lib/strata` for root and `$XDG_DATA_HOME/strata`.
fn default_root() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/strata");
    }
    user_data_dir().join("strata")
}

/// `$XDG_DATA_HOME`, else `~/.local/share`.
fn user_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            home.join(".local/share")
        })
}

fn open_store(global: &Global) -> Result<Store> {
    let root = global.root.clone().unwrap_or_else(default_root);
    Store::open(&root).with_context(|| format!("opening the store at {}", root.display()))
}
