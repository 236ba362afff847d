//! RUN end to end: a busybox base image, real containers through the OCI runtime.
//! These need root (overlay mounts, runc): each is `#[ignore = "needs root"]`, run by CI as
//! root with `--include-ignored`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use strata_build::{BuildError, BuildOptions, Event, Progress, SecretSource, StepError};
use strata_content::Store;
use strata_oci::Reference;

const APPLETS: &[&str] = &[
    "sh",
    "ls",
    "cat",
    "wc",
    "echo",
    "rm",
    "mkdir",
    "sleep",
    "date",
    "id",
    "sha256sum",
    "dd",
    "touch",
];

/// A store holding `busybox:test` and a context dir.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    store: Store,
    ctx: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let store = Store::open(&root).unwrap();
        let tar_path = tmp.path().join("rootfs.tar");
        strata_testkit::write_busybox_tar(&tar_path, APPLETS);
        let reference = Reference::parse("busybox:test").unwrap();
        strata_build::import_rootfs(&store, &tar_path, Some(&reference), &Default::default())
            .unwrap();
        let ctx = tmp.path().join("ctx");
        std::fs::create_dir(&ctx).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            store,
            ctx,
        }
    }

    fn opts(&self, dockerfile: &str) -> BuildOptions {
        std::fs::write(self.ctx.join("Dockerfile"), dockerfile).unwrap();
        let mut o = BuildOptions::new(&self.ctx);
        o.jobs = 1;
        o
    }

    fn build(
        &self,
        opts: &BuildOptions,
    ) -> (Result<strata_build::BuildOutcome, BuildError>, Recorder) {
        let rec = Recorder::default();
        let out = strata_build::build(&self.store, opts, &rec);
        (out, rec)
    }

    /// Builds and writes the image's root filesystem into a fresh dir.
    fn rootfs(&self, opts: &BuildOptions) -> (tempfile::TempDir, Recorder) {
        let (out, rec) = self.build(opts);
        let out = out.unwrap_or_else(|e| panic!("build failed: {e}\nlogs: {:?}", rec.logs()));
        let dir = tempfile::tempdir().unwrap();
        strata_build::write_rootfs(&self.store, &out.image, dir.path()).unwrap();
        (dir, rec)
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl Progress for Recorder {
    fn event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn cached(&self) -> usize {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| matches!(e, Event::Cached(_)))
            .count()
    }

    fn logs(&self) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter_map(|e| match e {
                Event::Log { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect()
    }
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
#[ignore = "needs root"]
fn run_creates_files_and_whiteouts() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts(
        "FROM busybox:test\nRUN echo hello > /made && rm /etc/base-file\nWORKDIR /new/dir\nRUN pwd > here\n",
    );
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "made"), "hello\n");
    assert!(!root.path().join("etc/base-file").exists());
    assert_eq!(read(root.path(), "new/dir/here"), "/new/dir\n");
    // mount-point stubs (/proc, /etc/hosts, ...) never reach the layer
    assert!(!root.path().join("proc").exists());
    assert!(!root.path().join("etc/hosts").exists());
}

#[test]
#[ignore = "needs root"]
fn warm_rebuild_is_cached_and_no_cache_reruns() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let df = "FROM busybox:test\nARG V=1\nRUN echo $V > /v\nRUN date +%s%N > /t\n";
    let opts = f.opts(df);
    let (first, rec) = f.rootfs(&opts);
    assert_eq!(rec.cached(), 0);
    let (second, rec) = f.rootfs(&opts);
    assert_eq!(rec.cached(), 2);
    assert_eq!(read(first.path(), "t"), read(second.path(), "t"));
    let mut changed = opts.clone();
    changed.build_args.insert("V".into(), "2".into());
    let (third, rec) = f.rootfs(&changed);
    assert_eq!(rec.cached(), 0);
    assert_eq!(read(third.path(), "v"), "2\n");
}

#[test]
#[ignore = "needs root"]
fn failing_run_reports_exit_code_and_tail() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts("FROM busybox:test\nRUN echo first; echo oops >&2; exit 3\n");
    let (out, rec) = f.build(&opts);
    match out {
        Err(BuildError::RunFailed {
            exit_code,
            tail,
            location,
            command,
        }) => {
            assert_eq!(exit_code, 3);
            assert!(tail.contains("oops") && tail.contains("first"), "{tail}");
            assert_eq!(location.line, 2);
            assert!(command.starts_with("/bin/sh -c echo first"), "{command}");
        }
        other => panic!("expected RunFailed, got {other:?}"),
    }
    assert!(rec.logs().iter().any(|l| l == "oops"));
}

#[test]
#[ignore = "needs root"]
fn cache_mount_persists_across_builds() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts(
        "FROM busybox:test\nRUN --mount=type=cache,target=/cache,sharing=locked \
         echo x >> /cache/count && cat /cache/count | wc -l > /seen\n",
    );
    let (first, _) = f.rootfs(&opts);
    assert_eq!(read(first.path(), "seen").trim(), "1");
    let mut again = opts.clone();
    again.no_cache = true;
    let (second, _) = f.rootfs(&again);
    assert_eq!(read(second.path(), "seen").trim(), "2");
    // the cache mount's content is not in the image
    assert!(!second.path().join("cache/count").exists());
}

#[test]
#[ignore = "needs root"]
fn secrets_are_readable_but_never_stored() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let secret = b"s3cr3t-value-4711";
    let src = f.ctx.join("..").join("tok.txt");
    std::fs::write(&src, secret).unwrap();
    let mut opts = f.opts(
        "FROM busybox:test\nRUN --mount=type=secret,id=tok sha256sum /run/secrets/tok > /sum && cat /run/secrets/tok | wc -c > /len\n\
         RUN --mount=type=secret,id=tok,env=TOK echo ${#TOK} > /envlen\n",
    );
    opts.secrets
        .insert("tok".into(), SecretSource::File(src.clone()));
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "len").trim(), secret.len().to_string());
    assert_eq!(read(root.path(), "envlen").trim(), secret.len().to_string());
    assert!(!root.path().join("run/secrets/tok").exists());
    for entry in walkdir::WalkDir::new(f.root.join("blobs")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let raw = std::fs::read(entry.path()).unwrap();
        let mut data = Vec::new();
        if raw.starts_with(&[0x1f, 0x8b]) {
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut data)
                .unwrap();
        } else {
            data = raw;
        }
        assert!(
            !data.windows(secret.len()).any(|w| w == secret),
            "secret found in {}",
            entry.path().display()
        );
    }
}

#[test]
#[ignore = "needs root"]
fn missing_required_secret_fails() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts("FROM busybox:test\nRUN --mount=type=secret,id=nope,required true\n");
    let (out, _) = f.build(&opts);
    let err = out.unwrap_err();
    match &err {
        BuildError::Step {
            location, source, ..
        } => {
            assert_eq!(location.to_string(), "Dockerfile:2");
            assert!(
                matches!(&**source, StepError::SecretNotFound { id } if id == "nope"),
                "{source:?}"
            );
            assert_eq!(source.to_string(), "secret nope not found");
        }
        other => panic!("expected a step error, got {other:?}"),
    }
}

#[test]
#[ignore = "needs root"]
fn user_and_network_none() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts(
        "FROM busybox:test\nUSER app\nRUN id -u > /tmp/uid\nUSER root\n\
         RUN --network=none cat /proc/net/dev > /netdev\n",
    );
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "tmp/uid").trim(), "1000");
    let netdev = read(root.path(), "netdev");
    let ifaces: Vec<&str> = netdev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{netdev}");
}

#[test]
#[ignore = "needs root"]
fn bind_mounts_from_context_and_stage_and_heredoc() {
    strata_testkit::require_root();
    let f = Fixture::new();
    std::fs::write(f.ctx.join("input.txt"), "from context\n").unwrap();
    let opts = f.opts(
        "FROM busybox:test AS src\nRUN echo from stage > /out.txt\n\
         FROM busybox:test\n\
         RUN --mount=type=bind,source=input.txt,target=/in cat /in > /a\n\
         RUN --mount=type=bind,from=src,source=/out.txt,target=/in cat /in > /b\n\
         RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/input.txt\n\
         RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /c\n\
         RUN <<EOF\necho one > /d\necho two >> /d\nEOF\n\
         RUN cat <<EOF > /e\nheredoc body\nEOF\n",
    );
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "a"), "from context\n");
    assert_eq!(read(root.path(), "b"), "from stage\n");
    assert_eq!(read(root.path(), "c"), "x\n");
    assert_eq!(read(root.path(), "d"), "one\ntwo\n");
    assert_eq!(read(root.path(), "e"), "heredoc body\n");
    assert!(!root.path().join("ctx").exists());
    assert!(!root.path().join("scratch").exists());
    assert_eq!(read(&f.ctx, "input.txt"), "from context\n");
    // changing the bound file invalidates the step that reads it
    std::fs::write(f.ctx.join("input.txt"), "changed\n").unwrap();
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "a"), "changed\n");
}

/// Nothing a build left behind: temp files, overlay mounts, container state.
fn assert_no_leftovers(f: &Fixture) {
    for dir in ["tmp", "snapshots/active", "executor/bundles"] {
        let d = f.root.join(dir);
        let left: Vec<_> = std::fs::read_dir(&d)
            .map(|it| it.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in {dir}: {left:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn empty_run_makes_no_layer_and_cleans_up() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts(
        "FROM busybox:test\nRUN --mount=type=secret,id=tok --mount=type=bind,target=/c true\n",
    );
    let mut opts = opts;
    let src = f.ctx.join("..").join("tok2.txt");
    std::fs::write(&src, b"x").unwrap();
    opts.secrets.insert("tok".into(), SecretSource::File(src));
    let (out, rec) = f.build(&opts);
    let image = out
        .unwrap_or_else(|e| panic!("{e}: {:?}", rec.logs()))
        .image;
    assert_eq!(image.manifest.layers.len(), 1, "an empty RUN adds no layer");
    let last = image.config.history.last().unwrap();
    assert!(last.empty_layer);
    assert!(last
        .created_by
        .as_deref()
        .unwrap()
        .starts_with("RUN /bin/sh -c true"));
    let failing = f.opts("FROM busybox:test\nRUN --mount=type=cache,target=/x false\n");
    let blobs_before = f.store.list_blobs().unwrap();
    match f.build(&failing).0 {
        Err(BuildError::RunFailed {
            exit_code,
            location,
            ..
        }) => {
            assert_eq!(exit_code, 1, "`false` exits 1");
            assert_eq!(location.line, 2);
        }
        other => panic!("expected RunFailed, got {other:?}"),
    }
    assert_eq!(
        f.store.list_blobs().unwrap(),
        blobs_before,
        "a failed RUN stores no blob"
    );
    assert_no_leftovers(&f);
}

#[test]
#[ignore = "needs root"]
fn shebang_heredoc_runs_as_a_file() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts("FROM busybox:test\nRUN <<EOF\n#!/bin/sh -e\necho \"$0\" > /which\nEOF\n");
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "which"), "/dev/pipes/EOF\n");
    assert!(!root.path().join("dev/pipes").exists());
}

#[test]
#[ignore = "needs root"]
fn cache_mount_seeded_from_stage_and_optional_ssh_skipped() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts(
        "FROM busybox:test AS seed\nRUN mkdir /s && echo seeded > /s/f\n\
         FROM busybox:test\n\
         RUN --mount=type=cache,id=c1,target=/c,from=seed,source=/s,sharing=private cat /c/f > /got\n",
    );
    let (root, _) = f.rootfs(&opts);
    assert_eq!(read(root.path(), "got"), "seeded\n");
    // No agent forwarded and not required: the step runs without the socket, as in BuildKit.
    let ssh = f.opts(
        "FROM busybox:test\nRUN --mount=type=ssh test ! -e \"$SSH_AUTH_SOCK\" && echo \"$SSH_AUTH_SOCK\" > /sock\n",
    );
    let (root, _) = f.rootfs(&ssh);
    assert_eq!(read(root.path(), "sock"), "/run/buildkit/ssh_agent.0\n");
}

#[test]
#[ignore = "needs root"]
fn command_that_cannot_start_names_the_line() {
    strata_testkit::require_root();
    let f = Fixture::new();
    let opts = f.opts("FROM busybox:test\nRUN [\"/no/such/binary\"]\n");
    let err = f.build(&opts).0.unwrap_err();
    match &err {
        BuildError::Step {
            location,
            instruction,
            source,
        } => {
            assert_eq!(location.to_string(), "Dockerfile:2");
            assert_eq!(instruction, "RUN [\"/no/such/binary\"]");
            assert!(matches!(**source, StepError::Start(_)), "{source:?}");
        }
        other => panic!("expected a step error, got {other:?}"),
    }
    assert_no_leftovers(&f);
}
