//! Shared helpers of the CLI end-to-end tests: a temp store, the real `strata` binary, and a
//! busybox base image made from Debian's busybox-static package.

#![allow(dead_code)]

pub mod registry_env;
pub mod served;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    /// A fresh store with `busybox:test` imported.
    pub fn with_base() -> Env {
        let env = Env::empty();
        let out = env.strata(&["import", base_tarball().to_str().unwrap(), "busybox:test"]);
        assert!(out.status.success(), "import failed: {}", stderr(&out));
        env
    }

    pub fn empty() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn strata(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--root")
            .arg(self.root())
            .args(args)
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap()
    }

    /// Runs strata with `SOURCE_DATE_EPOCH` set (reproducible output); raw output.
    pub fn strata_at_epoch(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--root")
            .arg(self.root())
            .args(args)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap()
    }

    /// Like [`Env::strata_at_epoch`], asserting success.
    pub fn ok_at_epoch(&self, args: &[&str]) {
        let out = self.strata_at_epoch(args);
        assert!(
            out.status.success(),
            "strata {args:?} failed:\n{}",
            stderr(&out)
        );
    }

    /// Runs strata and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.strata(args);
        assert!(
            out.status.success(),
            "strata {args:?} failed:\n{}",
            stderr(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Writes a build context from (path, content) pairs; returns its directory.
    pub fn context(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        assert_ne!(name, "root", "the store lives in root/");
        let dir = self.dir.path().join(name);
        for (rel, content) in files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    pub fn inspect(&self, image: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", image]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v[0].clone()
    }

    /// Builds with --progress=plain and returns (stdout, stderr).
    pub fn build(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["build", "--progress=plain"];
        all.extend_from_slice(args);
        let out = self.strata(&all);
        assert!(out.status.success(), "build failed:\n{}", stderr(&out));
        let err = stderr(&out);
        (String::from_utf8(out.stdout).unwrap(), err)
    }

    /// Builds `ctx` with `-o type=local` into `<env>/<name>`; returns the rootfs and the log.
    pub fn build_rootfs(&self, ctx: &Path, name: &str) -> (PathBuf, String) {
        let out = self.path(name);
        let dest = format!("type=local,dest={}", out.display());
        let (_, log) = self.build(&["-o", &dest, ctx.to_str().unwrap()]);
        (out, log)
    }

    /// Builds `ctx`, expecting a failure; returns stderr.
    pub fn build_fails(&self, ctx: &Path) -> String {
        let out = self.strata(&["build", ctx.to_str().unwrap()]);
        let err = stderr(&out);
        assert!(!out.status.success(), "the build should fail:\n{err}");
        err
    }

    /// The whole store listing, to check that a failed command changed nothing.
    pub fn snapshot_of_store(&self) -> (String, Vec<PathBuf>) {
        let images = self.ok(&["images", "--no-trunc"]);
        let mut blobs: Vec<PathBuf> = std::fs::read_dir(self.root().join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        blobs.sort();
        (images, blobs)
    }
}

#[allow(unused_imports)] // each test binary uses a different part
pub use strata_testkit::{busybox_rootfs_tarball as base_tarball, require_root, stderr, stdout};

/// Every path below `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// One tar entry of a built layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub path: String,
    /// `f` file, `d` directory, `l` symlink, `h` hard link.
    pub kind: char,
    pub mode: u32,
    pub owner: (u64, u64),
    pub mtime: u64,
    pub link: String,
    pub data: Vec<u8>,
}

/// The entries of every layer of `image` above the base, one Vec per layer.
pub fn layers(env: &Env, image: &str) -> Vec<Vec<Row>> {
    let manifest = env.inspect(image)["Manifest"].clone();
    let layers = manifest["layers"].as_array().unwrap().clone();
    layers[1..]
        .iter()
        .map(|l| {
            let digest = l["digest"].as_str().unwrap();
            let hex = digest.strip_prefix("sha256:").unwrap();
            let blob = std::fs::read(env.root().join("blobs/sha256").join(hex)).unwrap();
            read_layer(&strata_testkit::gunzip(&blob))
        })
        .collect()
}

pub fn read_layer(tar_bytes: &[u8]) -> Vec<Row> {
    let mut ar = tar::Archive::new(tar_bytes);
    let mut rows = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            _ => 'f',
        };
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        rows.push(Row {
            path: e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned(),
            kind,
            mode: h.mode().unwrap() & 0o7777,
            owner: (h.uid().unwrap(), h.gid().unwrap()),
            mtime: h.mtime().unwrap(),
            link: h
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default(),
            data,
        });
    }
    rows
}
