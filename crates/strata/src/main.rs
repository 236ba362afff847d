//! `strata`: build, check, ship and serve container images. This file only parses the command
//! line, sets up logging and hands over to `commands::<verb>`.

mod cli;
mod commands;
mod progress;
mod transfer_progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse_from(cli::docker_volume_flag(std::env::args().collect()));
    let serving = matches!(cli.command, cli::Command::Registry(_));
    init_logging(&cli.global, serving);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let exit = err.downcast_ref::<commands::ExitWith>();
            // An exit code passed through (`strata run`) without a message of its own.
            if !matches!(exit, Some(e) if e.message.is_empty()) {
                eprintln!("error: {}", render_error(&err));
            }
            let code = exit.map_or(1, |e| e.code);
            ExitCode::from(code)
        }
    }
}

/// stdout's reader went away (`strata images | head`): the output simply ends there.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, one per line, without repeating a cause already shown.
fn render_error(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// Logs on stderr at the level `-v` asks for; a server logs each request (info) by default.
fn init_logging(global: &cli::Global, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match global.verbose {
        0 if serving => "info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("STRATA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if global.log_format == cli::LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}
