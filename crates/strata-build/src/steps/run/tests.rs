//! Unit tests of RUN: the command line, env and network rules, output lines, and whole
//! steps run through the fake sandbox (no root needed).

use super::*;
use crate::plan::args::Scope;
use strata_dockerfile::instructions::ShellOrExec;

fn run_cmd(args: &[&str], shell: bool, heredocs: Vec<Heredoc>) -> RunCommand {
    RunCommand {
        cmd: ShellOrExec {
            args: args.iter().map(|s| s.to_string()).collect(),
            prepend_shell: shell,
        },
        heredocs,
        mounts: Vec::new(),
        mount_specs: Vec::new(),
        network: None,
        security: None,
    }
}

fn doc(name: &str, content: &str) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        ..Default::default()
    }
}

#[test]
fn shell_and_exec_forms() {
    let c = run_cmd(&["echo hi"], true, vec![]);
    assert_eq!(command_args(&c, &[]).0, ["/bin/sh", "-c", "echo hi"]);
    let shell = ["bash".to_string(), "-ec".to_string()];
    assert_eq!(command_args(&c, &shell).0, ["bash", "-ec", "echo hi"]);
    let e = run_cmd(&["ls", "-l"], false, vec![]);
    assert_eq!(command_args(&e, &shell).0, ["ls", "-l"]);
}

#[test]
fn heredoc_alone_runs_its_body() {
    let c = run_cmd(&["<<EOF"], true, vec![doc("EOF", "echo a\necho b\n")]);
    assert_eq!(
        command_args(&c, &[]).0,
        ["/bin/sh", "-c", "echo a\necho b\n"]
    );
    let q = run_cmd(&["<<-\"EOT\""], true, vec![doc("EOT", "x\n")]);
    assert_eq!(command_args(&q, &[]).0[2], "x\n");
    let s = run_cmd(&["<<EOF"], true, vec![doc("EOF", "#!/bin/cat\nhi\n")]);
    let (argv, script) = command_args(&s, &[]);
    assert_eq!(argv, ["/dev/pipes/EOF"]);
    assert_eq!(script.unwrap().content, "#!/bin/cat\nhi\n");
}

#[test]
fn heredoc_with_command_becomes_a_script() {
    let c = run_cmd(&["cat <<EOF > /f"], true, vec![doc("EOF", "hello\n")]);
    assert_eq!(command_args(&c, &[]).0[2], "cat <<EOF > /f\nhello\nEOF");
}

#[test]
fn env_gets_args_and_default_path() {
    let mut scope = Scope::default();
    scope.apply_image_env(&["X=y".into()]);
    scope.declare("A", Some("1"));
    assert_eq!(run_env(scope.env()), ["X=y", "A=1", DEFAULT_PATH]);
    assert_eq!(run_env(vec!["PATH=/bin".into()]), ["PATH=/bin"]);
}

#[test]
fn network_flag_overrides_default() {
    assert_eq!(network(None, NetworkMode::Host), Network::Host);
    assert_eq!(network(None, NetworkMode::None), Network::None);
    assert_eq!(
        network(Some(DfNetwork::None), NetworkMode::Host),
        Network::None
    );
    assert_eq!(
        network(Some(DfNetwork::Default), NetworkMode::None),
        Network::None
    );
}

#[test]
fn lines_are_split_per_stream_and_tailed() {
    let mut got = Vec::new();
    let mut sink = LineSink::new(|l| got.push(l));
    sink.push(Stream::Stdout, b"a\nb");
    sink.push(Stream::Stderr, b"e\n");
    sink.push(Stream::Stdout, b"c\n");
    sink.push(Stream::Stdout, b"d");
    sink.flush();
    let tail = sink.tail();
    drop(sink);
    assert_eq!(got, ["a", "e", "bc", "d"]);
    assert_eq!(tail, "a\ne\nbc\nd");
}

// ---- whole RUN steps through the fake sandbox -------------------------------------------

mod through_fake {
    use std::io::Read;
    use std::path::Path;

    use strata_content::{Image, Store};
    use strata_executor::{RunSpec, Stream};
    use strata_snapshot::MountCall;

    use super::super::fake::FakeSandbox;
    use crate::error::{BuildError, StepError};
    use crate::options::BuildOptions;
    use crate::progress::Silent;

    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("root")).unwrap();
            std::fs::create_dir(dir.path().join("ctx")).unwrap();
            Fixture { dir, store }
        }

        fn opts(&self, dockerfile: &str) -> BuildOptions {
            let ctx = self.dir.path().join("ctx");
            std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
            BuildOptions::new(ctx)
        }

        fn write(&self, rel: &str, content: &str) {
            std::fs::write(self.dir.path().join("ctx").join(rel), content).unwrap();
        }

        fn build(&self, opts: &BuildOptions, sandbox: &FakeSandbox) -> Result<Image, BuildError> {
            crate::build_in(&self.store, opts, &Silent, sandbox).map(|o| o.image)
        }

        /// Nothing is left mounted or half-made under the store.
        fn assert_no_leftovers(&self) {
            for sub in ["snapshots/active", "tmp"] {
                let d = self.store.root().join(sub);
                let left: Vec<_> = std::fs::read_dir(&d)
                    .map(|r| r.map(|e| e.unwrap().file_name()).collect())
                    .unwrap_or_default();
                assert!(left.is_empty(), "{sub} still holds {left:?}");
            }
        }

        /// Path → content ("" for dirs) of every entry of the image's last layer.
        fn last_layer(&self, image: &Image) -> Vec<(String, String)> {
            let desc = image.manifest.layers.last().expect("a layer");
            let blob = self.store.open_blob(&desc.digest).unwrap();
            let (r, _) = strata_archive::open_decompressed(std::io::BufReader::new(blob)).unwrap();
            let mut ar = tar::Archive::new(r);
            let mut out = Vec::new();
            for e in ar.entries().unwrap() {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                out.push((path, s));
            }
            out
        }
    }

    /// A script that writes `out.txt` (the argv joined) into the upper dir and prints a line.
    fn writes_out() -> FakeSandbox {
        FakeSandbox::new(
            |spec: &RunSpec, upper: &Path, out: &mut dyn FnMut(Stream, &[u8])| {
                std::fs::write(upper.join("out.txt"), spec.args.join(" ")).unwrap();
                out(Stream::Stdout, b"ran\n");
                Ok(0)
            },
        )
    }

    #[test]
    fn upper_dir_becomes_the_layer_and_the_mount_is_torn_down() {
        let f = Fixture::new();
        let sandbox = writes_out();
        let opts = f.opts("FROM scratch\nENV A=1\nARG B=2\nRUN echo hi\n");
        let image = f.build(&opts, &sandbox).unwrap();

        let runs = sandbox.runs();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].args, ["/bin/sh", "-c", "echo hi"]);
        assert!(runs[0].env.contains(&"A=1".to_owned()), "{:?}", runs[0].env);
        assert!(runs[0].env.contains(&"B=2".to_owned()), "{:?}", runs[0].env);
        assert!(runs[0].env.iter().any(|e| e.starts_with("PATH=")));
        assert_eq!(
            (runs[0].cwd.as_str(), runs[0].uid, runs[0].gid),
            ("/", 0, 0)
        );

        assert_eq!(image.manifest.layers.len(), 1);
        assert_eq!(
            f.last_layer(&image),
            [("out.txt".to_owned(), "/bin/sh -c echo hi".to_owned())]
        );
        let history = image.config.history.last().unwrap();
        assert_eq!(
            history.created_by.as_deref(),
            Some("RUN |1 B=2 /bin/sh -c echo hi # strata")
        );
        // Mounted once, then unmounted: the upper dir was adopted as the layer's snapshot.
        let calls = sandbox.mount_calls();
        assert!(
            matches!(calls.first(), Some(MountCall::Mount(_))),
            "{calls:?}"
        );
        assert!(
            matches!(calls.last(), Some(MountCall::Umount { .. })),
            "{calls:?}"
        );
        f.assert_no_leftovers();
    }

    #[test]
    fn a_rebuild_is_cached_and_a_used_arg_change_runs_again() {
        let f = Fixture::new();
        let sandbox = writes_out();
        let mut opts = f.opts("FROM scratch\nARG V=1\nRUN echo $V\n");
        let first = f.build(&opts, &sandbox).unwrap();
        let again = f.build(&opts, &sandbox).unwrap();
        assert_eq!(sandbox.runs().len(), 1, "the second build is a cache hit");
        assert_eq!(first.manifest_digest, again.manifest_digest);

        opts.build_args.insert("V".into(), "2".into());
        let changed = f.build(&opts, &sandbox).unwrap();
        assert_eq!(sandbox.runs().len(), 2, "a used ARG enters the key");
        assert_eq!(f.last_layer(&changed)[0].1, "/bin/sh -c echo $V");
        assert!(sandbox.runs()[1].env.contains(&"V=2".to_owned()));
    }

    /// convert.go proxyEnvFromBuildArgs + the exec op's proxyEnvList: proxy build args reach
    /// RUN in both spellings without an ARG, and are not part of the cache key or the image.
    #[test]
    fn proxy_build_args_reach_run_without_entering_the_key() {
        let f = Fixture::new();
        let sandbox = writes_out();
        let mut opts = f.opts("FROM scratch\nENV no_proxy=from-env\nRUN echo hi\n");
        opts.build_args
            .insert("HTTP_PROXY".into(), "http://proxy:3128".into());
        opts.build_args.insert("No_Proxy".into(), "from-arg".into());
        opts.build_args.insert("ftp_proxy".into(), String::new());
        let first = f.build(&opts, &sandbox).unwrap();
        let env = &sandbox.runs()[0].env;
        for want in [
            "HTTP_PROXY=http://proxy:3128",
            "http_proxy=http://proxy:3128",
            "NO_PROXY=from-arg",
            "no_proxy=from-env",
        ] {
            assert!(env.contains(&want.to_owned()), "{want} in {env:?}");
        }
        assert!(
            !env.contains(&"no_proxy=from-arg".to_owned()),
            "ENV is kept"
        );
        opts.build_args
            .insert("HTTP_PROXY".into(), "http://other:3128".into());
        let again = f.build(&opts, &sandbox).unwrap();
        assert_eq!(sandbox.runs().len(), 1, "a proxy change is a cache hit");
        assert_eq!(
            first.manifest_digest, again.manifest_digest,
            "nothing in the image"
        );
    }

    #[test]
    fn a_failing_command_names_the_line_keeps_the_tail_and_records_nothing() {
        let f = Fixture::new();
        let sandbox = FakeSandbox::new(
            |_: &RunSpec, upper: &Path, out: &mut dyn FnMut(Stream, &[u8])| {
                std::fs::write(upper.join("partial"), "x").unwrap();
                out(Stream::Stderr, b"boom\n");
                Ok(3)
            },
        );
        let mut opts = f.opts("FROM scratch\nRUN false\n");
        opts.tags = vec!["t:1".parse().unwrap()];
        let err = f.build(&opts, &sandbox).unwrap_err();
        match &err {
            BuildError::RunFailed {
                location,
                exit_code,
                tail,
                ..
            } => {
                assert_eq!(location.to_string(), "Dockerfile:2");
                assert_eq!(*exit_code, 3);
                assert_eq!(tail, "boom");
            }
            other => panic!("expected RunFailed, got {other:?}"),
        }
        assert!(
            matches!(
                f.store.resolve("t:1"),
                Err(strata_content::Error::NoSuchImage { .. })
            ),
            "nothing tagged"
        );
        // Released: the overlay's dirs are gone (the fake mounted nothing, so teardown had
        // nothing to unmount).
        let calls = sandbox.mount_calls();
        assert!(
            matches!(calls.as_slice(), [MountCall::Mount(_)]),
            "{calls:?}"
        );
        f.assert_no_leftovers();
        // Nothing was recorded: the next build runs the command again.
        let _ = f.build(&opts, &sandbox);
        assert_eq!(sandbox.runs().len(), 2);
    }

    #[test]
    fn a_process_that_cannot_start_is_a_step_error_with_its_cause() {
        let f = Fixture::new();
        let sandbox =
            FakeSandbox::new(|_: &RunSpec, _: &Path, _: &mut dyn FnMut(Stream, &[u8])| {
                Err(strata_executor::Error::NoRuntime {
                    tried: "runc, crun".into(),
                })
            });
        let err = f
            .build(&f.opts("FROM scratch\nRUN true\n"), &sandbox)
            .unwrap_err();
        match &err {
            BuildError::Step {
                location,
                instruction,
                source,
            } if matches!(
                **source,
                StepError::Start(strata_executor::Error::NoRuntime { .. })
            ) =>
            {
                assert_eq!(location.to_string(), "Dockerfile:2");
                assert_eq!(instruction, "RUN true");
            }
            other => panic!("expected a Start step error, got {other:?}"),
        }
        f.assert_no_leftovers();
    }

    #[test]
    fn a_context_bind_mount_is_read_only_and_its_content_is_keyed() {
        let f = Fixture::new();
        f.write("data.txt", "one");
        let sandbox = FakeSandbox::new(
            |spec: &RunSpec, upper: &Path, _: &mut dyn FnMut(Stream, &[u8])| {
                let m = spec
                    .mounts
                    .iter()
                    .find(|m| m.target == "/src/data.txt")
                    .unwrap();
                let strata_executor::MountKind::Bind { source, readonly } = &m.kind else {
                    panic!("a bind mount: {m:?}");
                };
                assert!(*readonly);
                std::fs::copy(source, upper.join("copied")).unwrap();
                Ok(0)
            },
        );
        let opts =
            f.opts("FROM scratch\nRUN --mount=type=bind,source=data.txt,target=/src/data.txt cp\n");
        let image = f.build(&opts, &sandbox).unwrap();
        assert_eq!(
            f.last_layer(&image),
            [("copied".to_owned(), "one".to_owned())]
        );
        f.build(&opts, &sandbox).unwrap();
        assert_eq!(sandbox.runs().len(), 1, "same content: cached");
        f.write("data.txt", "two");
        let image = f.build(&opts, &sandbox).unwrap();
        assert_eq!(sandbox.runs().len(), 2, "changed content: runs again");
        assert_eq!(
            f.last_layer(&image),
            [("copied".to_owned(), "two".to_owned())]
        );
    }

    #[test]
    fn a_missing_required_secret_is_a_typed_step_error() {
        let f = Fixture::new();
        let sandbox = writes_out();
        let opts = f.opts("FROM scratch\nRUN --mount=type=secret,id=tok,required=true cat\n");
        let err = f.build(&opts, &sandbox).unwrap_err();
        assert!(
            matches!(&err, BuildError::Step { source, .. }
                if matches!(&**source, StepError::SecretNotFound { id } if id == "tok")),
            "{err:?}"
        );
        assert!(sandbox.runs().is_empty(), "nothing ran");
        f.assert_no_leftovers();
    }

    #[test]
    fn a_command_that_changes_nothing_makes_no_layer() {
        let f = Fixture::new();
        let sandbox =
            FakeSandbox::new(|_: &RunSpec, _: &Path, _: &mut dyn FnMut(Stream, &[u8])| Ok(0));
        let image = f
            .build(&f.opts("FROM scratch\nRUN true\n"), &sandbox)
            .unwrap();
        assert!(image.manifest.layers.is_empty());
        let h = image.config.history.last().unwrap();
        assert!(h.empty_layer, "{h:?}");
        f.assert_no_leftovers();
    }
}
