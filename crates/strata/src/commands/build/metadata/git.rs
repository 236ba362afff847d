//! What git says about the build context, read with the `git` binary as buildx's
//! `util/gitutil` does (no libgit2): `LC_ALL=C`, `-c log.showSignature=false`, the first line
//! of each answer. A context outside any work tree (or no `git` installed) is no git source,
//! not an error; a `.git` directory that git cannot read is an error.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The work tree the context is in, at HEAD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitInfo {
    /// `git rev-parse --show-toplevel`.
    pub root: PathBuf,
    /// The remote of the branch's upstream, else `origin`, else `upstream`; credentials
    /// stripped (buildx's `RemoteURL`).
    pub remote: Option<String>,
    /// HEAD's full commit (`None` in a repository with no commit yet).
    pub commit: Option<String>,
    /// `git status --porcelain --ignored` lists anything (buildx's `IsDirty`).
    pub dirty: bool,
    /// The tags pointing at HEAD.
    pub tags: Vec<String>,
    /// The checked-out branch (`None` on a detached HEAD).
    pub branch: Option<String>,
    /// HEAD's author, `Name <email>`.
    pub author: Option<String>,
}

/// Reads git's view of `dir`; `None` when it is in no work tree or git is not installed.
pub fn read(dir: &Path) -> Result<Option<GitInfo>> {
    let git = Git { dir };
    match git.run(&["rev-parse", "--is-inside-work-tree"]) {
        Ok(out) if out == "true" => {}
        _ if !dir.join(".git").exists() => return Ok(None),
        _ => bail!(
            "{} has a .git but `git rev-parse --is-inside-work-tree` fails there \
             (is git installed?); use --no-git-metadata to build without git metadata",
            dir.display()
        ),
    }
    let root = PathBuf::from(git.run(&["rev-parse", "--show-toplevel"])?);
    let commit = git
        .run(&["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        .ok();
    let commit = commit.filter(|c| !c.is_empty());
    let tags = match commit {
        Some(_) => git.lines(&["tag", "--points-at", "HEAD"])?,
        None => Vec::new(),
    };
    let author = commit.as_ref().and_then(|_| {
        git.run(&["show", "-s", "--format=%an <%ae>", "HEAD", "--"])
            .ok()
    });
    Ok(Some(GitInfo {
        root,
        remote: git.remote(),
        dirty: git.dirty()?,
        tags,
        branch: git
            .run(&["symbolic-ref", "-q", "--short", "HEAD"])
            .ok()
            .filter(|b| !b.is_empty()),
        author,
        commit,
    }))
}

struct Git<'a> {
    dir: &'a Path,
}

impl Git<'_> {
    /// The whole output of `git ARGS` in the directory; an error names the command.
    fn output(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("git")
            .args(["-c", "log.showSignature=false"])
            .args(args)
            .current_dir(self.dir)
            .env("LC_ALL", "C")
            .output()
            .with_context(|| format!("running git {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "git {} in {}: {}",
                args.join(" "),
                self.dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The first line of the output.
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        Ok(out.lines().next().unwrap_or_default().trim().to_owned())
    }

    fn lines(&self, args: &[&str]) -> Result<Vec<String>> {
        let out = self.output(args)?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// The upstream branch's remote, else `origin`, else `upstream`.
    fn remote(&self) -> Option<String> {
        let tracking = self
            .run(&["symbolic-ref", "-q", "HEAD"])
            .ok()
            .filter(|r| !r.is_empty())
            .and_then(|r| {
                self.run(&["for-each-ref", "--format=%(upstream:remotename)", &r])
                    .ok()
            })
            .filter(|r| !r.is_empty());
        let candidates = tracking
            .into_iter()
            .chain(["origin".into(), "upstream".into()]);
        candidates
            .filter_map(|name| self.run(&["remote", "get-url", &name]).ok())
            .find(|url| !url.is_empty())
            .map(|url| strip_credentials(&url))
    }

    fn dirty(&self) -> Result<bool> {
        Ok(!self
            .output(&["status", "--porcelain", "--ignored"])?
            .trim()
            .is_empty())
    }
}

/// `scheme://user:password@host/path` → `scheme://host/path`, as buildx's
/// `stripCredentials`; what is no URL (`git@host:path`, a local path) is kept as written.
pub fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return url.to_owned();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped_as_buildx_does() {
        let s = strip_credentials;
        assert_eq!(
            s("https://user:password@host.tld/this:that"),
            "https://host.tld/this:that"
        );
        assert_eq!(
            s("https://user@host.tld/this:that"),
            "https://host.tld/this:that"
        );
        assert_eq!(
            s("https://:password@host.tld/this:that"),
            "https://host.tld/this:that"
        );
        assert_eq!(
            s("https://host.tld/this:that"),
            "https://host.tld/this:that"
        );
        assert_eq!(s("1https://foo.com"), "1https://foo.com");
        assert_eq!(
            s("git@github.com:org/repo.git"),
            "git@github.com:org/repo.git"
        );
        assert_eq!(s("ssh://git@host/org/repo.git"), "ssh://host/org/repo.git");
        assert_eq!(s("https://host/a@b"), "https://host/a@b");
    }
}
