//! `strata login` and `strata logout`, in docker's habits: the credential is checked
//! against the registry (`GET /v2/`, through its basic or bearer challenge) before it is
//! stored where docker, podman and skopeo read it (`strata_client`'s `CredentialStore`:
//! `$REGISTRY_AUTH_FILE`, else docker's `config.json`, its `credsStore`/`credHelpers`
//! keeping the secret). Prompts go to stderr; `Login Succeeded` and logout's lines go to
//! stdout, as docker prints them.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use strata_client::config::certs::CertsDirs;
use strata_client::config::credentials::keys::RegistryKey;
use strata_client::config::credentials::{Credential, CredentialStore};
use strata_client::config::registries::{RegistriesConf, RegistriesPaths};
use strata_client::{ClientError, Registry, RegistryOptions};
use strata_oci::Reference;

use crate::cli::LoginArgs;

/// docker's warning for `-p`.
const PASSWORD_FLAG_WARNING: &str =
    "WARNING! Using --password via the CLI is insecure. Use --password-stdin.";

pub fn login(args: LoginArgs) -> Result<()> {
    let key = registry_key(&args.registry)?;
    let store = CredentialStore::from_env();
    let credential = read_credential(&args, &store, &key)?;
    // Docker Hub's credential key is docker's index URL; its API answers elsewhere.
    let host = match key.is_docker_hub() {
        true => strata_client::image::api_host("docker.io").to_owned(),
        false => key.host.clone(),
    };
    let insecure = is_insecure(&key)?;
    let options = RegistryOptions {
        credential: Some(credential.clone()),
        allow_http: insecure,
        insecure_tls: insecure,
        certs: CertsDirs::from_env(),
        ..RegistryOptions::default()
    };
    match Registry::connect(&host, options) {
        Ok(_) => {}
        Err(err) if is_unauthorized(&err) => {
            return Err(anyhow::Error::new(err)
                .context(format!("login to {} failed: unauthorized", key.host)))
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!("login to {} failed", key.host)))
        }
    }
    let stored = store
        .store(&key.docker_key(), &credential)
        .with_context(|| format!("storing the credential for {}", key.host))?;
    tracing::info!(?stored, "credential stored");
    super::out("Login Succeeded")
}

pub fn logout(registry: &str) -> Result<()> {
    let key = registry_key(registry)?;
    let store = CredentialStore::from_env();
    let name = key.docker_key();
    let erased = store
        .erase(&name)
        .with_context(|| format!("removing the credential for {}", key.host))?;
    match erased {
        true => super::out(format_args!("Removing login credentials for {name}")),
        false => super::out(format_args!("Not logged in to {name}")),
    }
}

/// The registry of a login or logout: empty means Docker Hub; a URL keeps its host; a
/// path after the host is dropped, as docker's `ConvertToHostname` does.
fn registry_key(arg: &str) -> Result<RegistryKey> {
    let arg = match arg.trim() {
        "" => "docker.io",
        other => other,
    };
    let key = RegistryKey::parse(arg)?;
    Ok(RegistryKey { path: None, ..key })
}

/// Plain HTTP only for loopback hosts (the transport decides) or a registries.conf
/// `[[registry]]` marked `insecure = true`.
fn is_insecure(key: &RegistryKey) -> Result<bool> {
    let conf =
        RegistriesConf::load(&RegistriesPaths::from_env()).context("reading registries.conf")?;
    let Ok(reference) = Reference::parse(&format!("{}/login", key.host)) else {
        return Ok(false);
    };
    Ok(conf.find(&reference).is_some_and(|r| r.insecure))
}

/// The registry refused the credential: at the `/v2/` ping, or at its token realm.
fn is_unauthorized(err: &ClientError) -> bool {
    matches!(
        err,
        ClientError::Unauthorized { .. } | ClientError::TokenStatus { status: 401, .. }
    )
}

/// The username (flag or prompt) and password (stdin, flag or no-echo prompt).
fn read_credential(
    args: &LoginArgs,
    store: &CredentialStore,
    key: &RegistryKey,
) -> Result<Credential> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let needs_prompt = args.username.is_none() || (args.password.is_none() && !args.password_stdin);
    if needs_prompt && !interactive {
        bail!(
            "cannot prompt for a {} without a terminal: use --username and --password-stdin",
            match args.username {
                None => "username",
                Some(_) => "password",
            }
        );
    }
    let username = match &args.username {
        Some(u) => u.clone(),
        None => prompt_username(store, key)?,
    };
    let password = if args.password_stdin {
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("reading the password from stdin")?;
        trim_newline(&text).to_owned()
    } else if let Some(p) = &args.password {
        eprintln!("{PASSWORD_FLAG_WARNING}");
        p.clone()
    } else {
        prompt_password()?
    };
    if username.is_empty() {
        bail!("username required");
    }
    if password.is_empty() {
        bail!("password required");
    }
    Ok(Credential::Basic { username, password })
}

/// docker's `strings.TrimSuffix(…, "\n")` then `"\r"`.
fn trim_newline(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

/// `Username: `, or `Username (stored): ` offering the stored username as docker does.
fn prompt_username(store: &CredentialStore, key: &RegistryKey) -> Result<String> {
    let stored = match store.lookup(&key.docker_key()) {
        Ok(Some(Credential::Basic { username, .. })) => Some(username),
        Ok(_) => None,
        Err(err) => {
            tracing::debug!(error = %err, "no stored username to offer");
            None
        }
    };
    match &stored {
        Some(u) => eprint!("Username ({u}): "),
        None => eprint!("Username: "),
    }
    std::io::stderr().flush()?;
    let line = read_line()?;
    let typed = line.trim();
    Ok(match (typed.is_empty(), stored) {
        (true, Some(u)) => u,
        _ => typed.to_owned(),
    })
}

/// `Password: ` with the terminal's echo off (restored even when reading fails).
fn prompt_password() -> Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    eprint!("Password: ");
    std::io::stderr().flush()?;
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("turning the echo off")?;
    let line = read_line();
    tcsetattr(&stdin, OptionalActions::Now, &saved).context("turning the echo back on")?;
    Ok(trim_newline(&line?).to_owned())
}

fn read_line() -> Result<String> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the terminal")?;
    if n == 0 {
        return Err(anyhow!("no input: the terminal was closed"));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_reduce_to_their_host() {
        let host = |s: &str| registry_key(s).unwrap().docker_key();
        assert_eq!(host(""), "https://index.docker.io/v1/");
        assert_eq!(host("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(
            host("https://index.docker.io/v1/"),
            "https://index.docker.io/v1/"
        );
        assert_eq!(host("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(host("quay.io/team/app"), "quay.io");
        assert!(registry_key("user@host").is_err());
    }

    #[test]
    fn one_trailing_newline_is_trimmed() {
        assert_eq!(trim_newline("pw\n"), "pw");
        assert_eq!(trim_newline("pw\r\n"), "pw");
        assert_eq!(trim_newline("pw\n\n"), "pw\n");
        assert_eq!(trim_newline(" pw "), " pw ");
    }
}
