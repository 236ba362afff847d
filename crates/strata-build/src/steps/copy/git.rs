//! ADD from a git repository, with the system `git` run as BuildKit v0.24's git source runs
//! it (source/git/source.go, util/gitutil/git_cli.go): `ls-remote` resolves the ref to a
//! commit (the cache key), a bare repository fetches it (`--depth=1` for a branch or tag),
//! and `checkout REF -- .` writes the tree into a fresh directory (umask 022: files 0644 or
//! 0755, directories 0755, all made now); with `--keep-git-dir` a `.git` is made by fetching
//! from that bare repository and checking out `FETCH_HEAD`. Submodules are updated unless
//! `?submodules=false`; a subdirectory's entries replace the checkout.
//!
//! Refs come from the Dockerfile and from the server (the default branch), so none may start
//! with `-` (as BuildKit v0.25+ `validateGitRef`), and every command puts `--` (before the
//! remote) or `--end-of-options` (before a revision) ahead of what it did not write itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata_oci::path::clean_in_root;

/// Why a git source could not be resolved or checked out.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("running git (is it installed?)")]
    Spawn(#[source] std::io::Error),
    #[error("git {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("could not find default branch for repository: {remote}")]
    NoDefaultBranch { remote: String },
    #[error("repository does not contain ref {reference}, output: {output:?}")]
    NoRef { reference: String, output: String },
    #[error("git over ssh is not supported yet: BuildKit authenticates it with the build's --ssh agent, which strata does not hand to git; use an https:// or git:// remote")]
    SshUnsupported,
    #[error("inconsistent keep-git-dir configuration")]
    KeepGitDirConflict,
    #[error("checksum mismatch {0:?} != {1:?}")]
    ChecksumConflict(String, String),
    #[error("invalid git ref {0:?}")]
    InvalidRef(String),
    #[error("invalid commit sha {0:?}")]
    BadSha(String),
    #[error("invalid checksum {0} for Git URL, expected hex commit hash")]
    BadChecksum(String),
    #[error("expected checksum to match {expected}, got {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("{reference} moved from {resolved} to {fetched} while it was fetched")]
    Moved {
        reference: String,
        resolved: String,
        fetched: String,
    },
    #[error("failed to open subdir {subdir}")]
    Subdir {
        subdir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A git source resolved to its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The ref fetched and checked out: as written, or the remote's default branch.
    pub reference: String,
    /// The full ref `ls-remote` matched (empty for a commit given by its sha).
    pub used_ref: String,
    pub sha: String,
}

/// What the checkout holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckoutOptions {
    pub subdir: Option<String>,
    pub keep_git_dir: bool,
    pub submodules: bool,
}

/// gitutil `IsCommitSHA`: 40 lowercase hex digits.
pub fn is_commit_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The subdirectory a checkout is cut to, `None` for the root (`path.Clean`, `/` is `.`).
pub fn clean_subdir(subdir: Option<&str>) -> Option<String> {
    subdir.map(clean_in_root).filter(|s| !s.is_empty())
}

/// The source part of BuildKit's cache key (`shaToCacheKey`): the commit, with the ref when
/// `.git` is kept, the subdirectory and skipped submodules.
pub fn cache_key(res: &Resolved, opts: &CheckoutOptions) -> String {
    let mut key = res.sha.clone();
    if opts.keep_git_dir {
        key.push_str(".git");
        if !res.used_ref.is_empty() {
            key.push_str(&format!("#{}", res.used_ref));
        }
    }
    if let Some(s) = &opts.subdir {
        key.push_str(&format!(":{s}"));
    }
    if !opts.submodules {
        key.push_str("(skip-submodules)");
    }
    key
}

/// `git` as gitutil's `GitCLI.Run` runs it: no system or user config, no prompt, `C` locale,
/// `protocol.file.allow=user`, umask 022 (`runWithStandardUmask`).
struct Cli {
    git_dir: Option<PathBuf>,
    work_tree: Option<PathBuf>,
}

impl Cli {
    fn bare(git_dir: &Path) -> Cli {
        Cli {
            git_dir: Some(git_dir.to_owned()),
            work_tree: None,
        }
    }

    fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        loop {
            let out = self.command(&args).output().map_err(GitError::Spawn)?;
            if out.status.success() {
                return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            // gitutil retries without `--depth` and without a commit refspec when the server
            // refuses them.
            let retry = if stderr.contains("--depth") || stderr.contains("shallow") {
                without(&args, |a| a.starts_with("--depth"))
            } else if stderr.contains("not our ref") || stderr.contains("unadvertised object") {
                without(&args, is_commit_sha)
            } else {
                None
            };
            match retry {
                Some(shorter) => args = shorter,
                None => {
                    let args = args.join(" ");
                    return Err(GitError::Failed { args, stderr });
                }
            }
        }
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask 0022 && exec git \"$@\"", "git"]);
        cmd.args(["-c", "protocol.file.allow=user"]);
        if let Some(w) = &self.work_tree {
            cmd.arg("--work-tree").arg(w).current_dir(w);
        }
        if let Some(g) = &self.git_dir {
            cmd.arg("--git-dir").arg(g);
        }
        cmd.args(args).env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.envs([
            ("GIT_TERMINAL_PROMPT", "0"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("HOME", "/dev/null"),
            ("LC_ALL", "C"),
        ]);
        for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"] {
            for name in [proxy.to_owned(), proxy.to_ascii_lowercase()] {
                if let Some(v) = std::env::var_os(&name) {
                    cmd.env(name, v);
                }
            }
        }
        cmd
    }
}

/// `args` without those `drop` matches, or `None` when none does.
fn without(args: &[String], drop: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let kept: Vec<String> = args.iter().filter(|a| !drop(a)).cloned().collect();
    (kept.len() < args.len()).then_some(kept)
}

/// Resolves `reference` (the remote's default branch when `None`) on `remote` to a commit,
/// as the git source's `CacheKey` does, and checks it against `checksum` (a hex prefix).
pub fn resolve(
    remote: &str,
    reference: Option<&str>,
    checksum: Option<&str>,
) -> Result<Resolved, GitError> {
    if let Some(c) = checksum {
        if c.is_empty() || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GitError::BadChecksum(c.to_owned()));
        }
    }
    let cli = Cli {
        git_dir: None,
        work_tree: None,
    };
    let reference = match reference {
        Some(r) => r.to_owned(),
        None => default_branch(&cli, remote)?,
    };
    validate_ref(&reference)?;
    let (sha, used_ref) = if is_commit_sha(&reference) {
        (reference.clone(), String::new())
    } else {
        let peeled = format!("{reference}^{{}}");
        let out = cli.run(&["ls-remote", "--", remote, &reference, &peeled])?;
        match_ref(&reference, &out)?
    };
    if let Some(c) = checksum.filter(|c| !sha.starts_with(*c)) {
        return Err(GitError::ChecksumMismatch {
            expected: c.to_owned(),
            actual: sha,
        });
    }
    Ok(Resolved {
        reference,
        used_ref,
        sha,
    })
}

/// `getDefaultBranch`: `ls-remote --symref REMOTE HEAD`, the first `refs/heads/(\S+)`.
fn default_branch(cli: &Cli, remote: &str) -> Result<String, GitError> {
    let out = cli.run(&["ls-remote", "--symref", "--", remote, "HEAD"])?;
    out.split("refs/heads/")
        .nth(1)
        .map(|rest| rest.split(char::is_whitespace).next().unwrap_or(""))
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| GitError::NoDefaultBranch {
            remote: remote.to_owned(),
        })
}

/// Refuses a ref `git` would read as an option: one from the Dockerfile is refused when
/// parsed already, this also catches a default branch the server advertises.
fn validate_ref(reference: &str) -> Result<(), GitError> {
    if reference.starts_with('-') {
        return Err(GitError::InvalidRef(reference.to_owned()));
    }
    Ok(())
}

/// The commit `ls-remote REF REF^{}` names, preferring an exact `refs/…` match, then a
/// branch, then a tag (peeled when annotated), as `CacheKey` does; with the ref it used.
pub fn match_ref(reference: &str, ls_remote: &str) -> Result<(String, String), GitError> {
    let partial = format!("refs/{}", reference.trim_start_matches("refs/"));
    let head = format!("refs/heads/{}", reference.trim_start_matches("refs/heads/"));
    let tag = format!("refs/tags/{}", reference.trim_start_matches("refs/tags/"));
    let annotated = format!("{tag}^{{}}");
    let (mut exact, mut head_sha, mut tag_sha) = (None, None, None);
    for line in ls_remote.lines() {
        let (sha, name) = line.split_once('\t').unwrap_or((line, ""));
        if name == head {
            head_sha = Some(sha);
        } else if name == tag || name == annotated {
            tag_sha = Some(sha);
        } else if name == partial {
            exact = Some(sha);
        }
    }
    let found = exact
        .map(|s| (s, partial))
        .or(head_sha.map(|s| (s, head)))
        .or(tag_sha.map(|s| (s, tag)));
    let Some((sha, used)) = found else {
        return Err(GitError::NoRef {
            reference: reference.to_owned(),
            output: ls_remote.to_owned(),
        });
    };
    if !is_commit_sha(sha) {
        return Err(GitError::BadSha(sha.to_owned()));
    }
    Ok((sha.to_owned(), used))
}

/// Checks `res` out of `remote` into `into` (made here, mode 0755 as a snapshot's root), using
/// `scratch` for the bare repository, as the git source's `Snapshot` does.
pub fn checkout(
    remote: &str,
    res: &Resolved,
    opts: &CheckoutOptions,
    into: &Path,
    scratch: &Path,
) -> Result<(), GitError> {
    validate_ref(&res.reference)?;
    let bare = scratch.join("bare");
    let repo = Cli::bare(&bare);
    repo.run(&["-c", "init.defaultBranch=master", "init", "--bare"])?;
    repo.run(&["remote", "add", "--", "origin", remote])?;
    fetch(&repo, &res.reference)?;
    let commit = format!("{}^{{commit}}", res.reference);
    let fetched = repo.run(&["rev-parse", "--verify", "--end-of-options", &commit])?;
    if fetched.trim() != res.sha {
        return Err(GitError::Moved {
            reference: res.reference.clone(),
            resolved: res.sha.clone(),
            fetched: fetched.trim().to_owned(),
        });
    }
    mkdir(into)?;
    let worktree = match (&opts.subdir, opts.keep_git_dir) {
        (None, true) => keep_git_dir(&repo, &bare, remote, &res.reference, into)?,
        (None, false) => checkout_tree(&bare, &res.reference, into)?,
        (Some(_), _) => checkout_tree(&bare, &res.reference, &into.join(".checkout"))?,
    };
    if opts.submodules {
        worktree.run(&["submodule", "update", "--init", "--recursive", "--depth=1"])?;
    }
    if let Some(subdir) = &opts.subdir {
        cut_to_subdir(&into.join(".checkout"), subdir, into)?;
    }
    set_mode(into, 0o755)
}

/// The fetch of `Snapshot`: a branch or tag shallow into `tags/REF`, a commit with tags.
fn fetch(repo: &Cli, reference: &str) -> Result<(), GitError> {
    if is_commit_sha(reference) {
        repo.run(&["fetch", "--tags", "--", "origin", reference])?;
    } else {
        let refspec = format!("{reference}:tags/{reference}");
        repo.run(&[
            "fetch",
            "--depth=1",
            "--no-tags",
            "--force",
            "--",
            "origin",
            &refspec,
        ])?;
    }
    repo.run(&["reflog", "expire", "--all", "--expire=now"])?;
    Ok(())
}

/// `checkout REF -- .` of the bare repository's tree into `dir`.
fn checkout_tree(bare: &Path, reference: &str, dir: &Path) -> Result<Cli, GitError> {
    mkdir(dir)?;
    let cli = Cli {
        git_dir: Some(bare.to_owned()),
        work_tree: Some(dir.to_owned()),
    };
    cli.run(&["checkout", "--end-of-options", reference, "--", "."])?;
    Ok(cli)
}

/// `--keep-git-dir`: a repository of its own in `dir`, fetched from the bare one over
/// `file://`, checked out at `FETCH_HEAD`, its origin set back to the remote.
fn keep_git_dir(
    repo: &Cli,
    bare: &Path,
    remote: &str,
    reference: &str,
    dir: &Path,
) -> Result<Cli, GitError> {
    let git_dir = dir.join(".git");
    let cli = Cli {
        git_dir: Some(git_dir.clone()),
        work_tree: Some(dir.to_owned()),
    };
    cli.run(&["-c", "init.defaultBranch=master", "init"])?;
    let origin = format!("file://{}", bare.display());
    cli.run(&["remote", "add", "--", "origin", &origin])?;
    let kind = repo.run(&["cat-file", "-t", "--end-of-options", reference])?;
    let pullref = if kind.trim() == "tag" {
        format!("{reference}:refs/tags/{reference}")
    } else if is_commit_sha(reference) {
        let name = "refs/buildkit/checkout".to_owned();
        repo.run(&["update-ref", "--end-of-options", &name, reference])?;
        name
    } else {
        format!("{reference}:{reference}")
    };
    cli.run(&["fetch", "-u", "--depth=1", "--", "origin", &pullref])?;
    cli.run(&["checkout", "FETCH_HEAD"])?;
    cli.run(&["remote", "set-url", "--", "origin", remote])?;
    cli.run(&["reflog", "expire", "--all", "--expire=now"])?;
    let fetch_head = git_dir.join("FETCH_HEAD");
    match std::fs::remove_file(&fetch_head) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("removing", &fetch_head)(e)),
        _ => Ok(cli),
    }
}

/// Moves the entries of `checkout/subdir` into `into` and removes `checkout`.
fn cut_to_subdir(checkout: &Path, subdir: &str, into: &Path) -> Result<(), GitError> {
    let from = checkout.join(subdir);
    let entries = std::fs::read_dir(&from).map_err(|source| GitError::Subdir {
        subdir: subdir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(io("reading", &from))?;
        let to = into.join(entry.file_name());
        std::fs::rename(entry.path(), &to).map_err(io("moving into", &to))?;
    }
    std::fs::remove_dir_all(checkout).map_err(io("removing", checkout))
}

fn mkdir(dir: &Path) -> Result<(), GitError> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), GitError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io("chmod", path))
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> GitError {
    let path = path.to_owned();
    move |source| GitError::Io { op, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "c4201ff48c844fd6bc22e78582f1f07d33e0901c";
    const B: &str = "cd1564d30e2a40066e10dbdfdbd04fc8a5314500";
    const T: &str = "17710d8eebb84fa20922be3508039d8c917cf2b5";

    /// source/git/source.go `CacheKey`: an exact `refs/…` name first, then a branch, then a
    /// tag (its peeled commit when annotated); anything else is "does not contain ref".
    #[test]
    fn ls_remote_lines_resolve_as_buildkit_resolves_them() {
        let out =
            format!("{A}\tHEAD\n{A}\trefs/heads/main\n{T}\trefs/tags/v1\n{B}\trefs/tags/v1^{{}}\n");
        let got = |r| match_ref(r, &out).map_err(|e| e.to_string());
        assert_eq!(got("main"), Ok((A.into(), "refs/heads/main".into())));
        assert_eq!(got("v1"), Ok((B.into(), "refs/tags/v1".into())));
        assert_eq!(got("refs/tags/v1"), Ok((B.into(), "refs/tags/v1".into())));
        assert_eq!(got("heads/main"), Ok((A.into(), "refs/heads/main".into())));
        assert!(got("nope")
            .unwrap_err()
            .contains("does not contain ref nope"));
        let both = format!("{A}\trefs/heads/x\n{B}\trefs/tags/x\n");
        assert_eq!(match_ref("x", &both).unwrap().0, A, "branches win");
    }

    /// `shaToCacheKey` and the snapshot key's subdir.
    #[test]
    fn the_cache_key_is_the_commit_and_what_the_checkout_holds() {
        let res = Resolved {
            reference: "main".into(),
            used_ref: "refs/heads/main".into(),
            sha: A.into(),
        };
        let mut opts = CheckoutOptions {
            submodules: true,
            ..CheckoutOptions::default()
        };
        assert_eq!(cache_key(&res, &opts), A);
        opts.keep_git_dir = true;
        opts.subdir = Some("sub".into());
        opts.submodules = false;
        assert_eq!(
            cache_key(&res, &opts),
            format!("{A}.git#refs/heads/main:sub(skip-submodules)")
        );
    }

    /// A default branch advertised as `-x` (or a ref handed in so) never reaches git.
    #[test]
    fn refs_starting_with_a_dash_are_refused_before_git_runs() {
        assert!(
            matches!(validate_ref("--upload-pack=x"), Err(GitError::InvalidRef(r)) if r == "--upload-pack=x")
        );
        assert!(validate_ref("main").is_ok() && validate_ref("fix-1").is_ok());
        let err = resolve("/nonexistent", Some("-b"), None).unwrap_err();
        assert!(
            matches!(err, GitError::InvalidRef(ref r) if r == "-b"),
            "{err}"
        );
        let res = Resolved {
            reference: "--help".into(),
            used_ref: String::new(),
            sha: A.into(),
        };
        let t = tempfile::tempdir().unwrap();
        let opts = CheckoutOptions::default();
        let err = checkout("/nonexistent", &res, &opts, &t.path().join("o"), t.path());
        assert!(matches!(err, Err(GitError::InvalidRef(_))));
        assert!(!t.path().join("bare").exists(), "nothing was run");
    }

    #[test]
    fn subdirs_are_cleaned_and_the_root_is_none() {
        assert_eq!(clean_subdir(Some("/")), None);
        assert_eq!(clean_subdir(Some(".")), None);
        assert_eq!(clean_subdir(Some("/a/./b/")), Some("a/b".into()));
        assert_eq!(clean_subdir(Some("../../x")), Some("x".into()));
        assert!(is_commit_sha(A) && !is_commit_sha("main") && !is_commit_sha(&A[..39]));
    }
}
