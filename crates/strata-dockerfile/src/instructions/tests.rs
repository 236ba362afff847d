use super::*;
use crate::parser::parse;
use crate::shell::Lexer;
use std::collections::HashMap;

fn stages(src: &str) -> (Vec<MetaArg>, Vec<Stage>) {
    parse_instructions(&parse(src).unwrap()).unwrap()
}

fn err(src: &str) -> ParseError {
    parse_instructions(&parse(src).unwrap()).unwrap_err()
}

fn only(src: &str) -> Instruction {
    let (_, st) = stages(&format!("FROM scratch\n{src}\n"));
    st[0].commands[0].instruction.clone()
}

#[test]
fn stages_and_meta_args() {
    let (meta, st) =
        stages("ARG V=1\nFROM --platform=$P alpine:$V AS Build\nRUN x\nFROM build\nARG V\n");
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0].args[0].value.as_deref(), Some("1"));
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].name.as_deref(), Some("build"));
    assert_eq!(st[0].base_name, "alpine:$V");
    assert_eq!(st[0].platform.as_deref(), Some("$P"));
    assert_eq!(st[0].location.start_line, 2);
    assert_eq!(st[1].commands.len(), 1);
}

#[test]
fn from_errors() {
    assert_eq!(
        err("FROM a b").message,
        "FROM requires either one or three arguments"
    );
    assert!(err("FROM a AS 1x")
        .message
        .starts_with("invalid name for build stage"));
    assert_eq!(err("RUN x").message, "no build stage in current context");
}

#[test]
fn unknown_instruction_renders_with_caret() {
    let e = err("FROM a\n\n  COPPY . /app\n").with_filename("app/Dockerfile");
    assert_eq!((e.line, e.column), (3, 3));
    assert_eq!(
        e.to_string(),
        "app/Dockerfile:3:3: unknown instruction: COPPY\n 3 |   COPPY . /app\n   |   ^^^^^"
    );
}

#[test]
fn unknown_flag_points_at_flag() {
    let e = err("FROM a\nCOPY --foo=bar a b\n");
    assert_eq!(e.message, "unknown flag: foo");
    assert_eq!(
        e.to_string(),
        "Dockerfile:2:6: unknown flag: foo\n 2 | COPY --foo=bar a b\n   |      ^^^^^^^^^"
    );
    assert_eq!(err("FROM a\nENV --x=1 a=b").message, "unknown flag: x");
}

#[test]
fn argument_count_errors() {
    assert!(err("FROM a\nCOPY onlyone")
        .message
        .starts_with("COPY requires at least two arguments"));
    assert!(err("FROM a\nADD x")
        .message
        .starts_with("ADD requires at least two arguments"));
    assert_eq!(
        err("FROM a\nWORKDIR").message,
        "WORKDIR requires exactly one argument"
    );
    assert_eq!(
        err("FROM a\nEXPOSE").message,
        "EXPOSE requires at least one argument"
    );
    assert_eq!(
        err("FROM a\nENV").message,
        "ENV requires at least one argument"
    );
    assert_eq!(
        err("FROM a\nSHELL sh -c").message,
        "SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        err("FROM a\nONBUILD FROM x").message,
        "FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(err("FROM a\nARG =x").message, "ARG names can not be blank");
}

#[test]
fn env_label_arg() {
    let Instruction::Env(kvs) = only("ENV a=1 b=\"x y\"") else {
        panic!()
    };
    assert_eq!(kvs[1].value, "\"x y\"");
    let Instruction::Env(kvs) = only("ENV a x y") else {
        panic!()
    };
    assert!(kvs[0].no_delim);
    assert_eq!(kvs[0].value, "x y");
    let Instruction::Arg(a) = only("ARG a b=2") else {
        panic!()
    };
    assert_eq!(
        a[0],
        ArgDecl {
            key: "a".into(),
            value: None
        }
    );
}

#[test]
fn cmd_entrypoint_shell_forms() {
    let Instruction::Cmd(c) = only("CMD [\"a\", \"b\"]") else {
        panic!()
    };
    assert_eq!((c.args.len(), c.prepend_shell), (2, false));
    let Instruction::Entrypoint(c) = only("ENTRYPOINT echo  hi") else {
        panic!()
    };
    assert_eq!(
        (c.args, c.prepend_shell),
        (vec!["echo  hi".to_string()], true)
    );
}

#[test]
fn copy_and_add_flags() {
    let Instruction::Copy(c) = only("COPY --from=build --chown=1:1 --chmod=755 --link --parents --exclude=*.md --exclude=x a b /dst/")
    else { panic!() };
    assert_eq!(c.sources, vec!["a", "b"]);
    assert_eq!(c.dest, "/dst/");
    assert_eq!(c.from.as_deref(), Some("build"));
    assert!(c.link && c.parents);
    assert_eq!(c.excludes, vec!["*.md", "x"]);
    let Instruction::Add(a) =
        only("ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://x/y.tgz /y")
    else {
        panic!()
    };
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(a.keep_git_dir, Some(true));
    assert_eq!(a.unpack, Some(false));
    assert_eq!(
        err("FROM a\nADD --from=x a b").message,
        "unknown flag: from"
    );
}

#[test]
fn copy_heredoc_sources() {
    let Instruction::Copy(c) = only("COPY <<-EOT <<'RAW' /dst/\n\thello $X\n\tEOT\n$Y\nRAW") else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(c.heredocs.len(), 2);
    assert_eq!(c.heredocs[0].content, "hello $X\n");
    assert!(!c.heredocs[1].expand);
    let env: HashMap<String, String> = [("X".to_string(), "\"1\"".to_string())].into();
    let cmd = Command {
        location: Location::default(),
        instruction: Instruction::Copy(c),
    };
    let ex = cmd.expand(&Lexer::new('\\'), &env).unwrap();
    let Instruction::Copy(c) = ex.command.instruction else {
        panic!()
    };
    assert_eq!(c.heredocs[0].content, "hello \"1\"\n");
    assert_eq!(c.heredocs[1].content, "$Y\n");
}

#[test]
fn run_mounts_network_security() {
    let Instruction::Run(r) = only("RUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none --security=insecure make")
    else { panic!() };
    assert_eq!(r.mounts.len(), 2);
    assert_eq!(r.mounts[1].target, "/run/secrets/s");
    assert_eq!(r.network, Some(NetworkMode::None));
    assert_eq!(r.security.as_deref(), Some("insecure"));
    assert_eq!(r.cmd.args, vec!["make"]);
    assert!(err("FROM a\nRUN --network=bridge x")
        .message
        .contains("unsupported network mode"));
    assert!(err("FROM a\nRUN --mount=type=bind,target=/a,bogus=1 x")
        .message
        .contains("unexpected key 'bogus'"));
}

#[test]
fn run_heredoc_is_chomped_not_expanded() {
    let src = "FROM a\nRUN <<-EOF\n\techo $HOME\n\tEOF\n";
    let (_, st) = stages(src);
    let env: HashMap<String, String> = [("HOME".to_string(), "/root".to_string())].into();
    let ex = st[0].commands[0].expand(&Lexer::new('\\'), &env).unwrap();
    let Instruction::Run(r) = ex.command.instruction else {
        panic!()
    };
    assert_eq!(r.heredocs[0].content, "echo $HOME\n");
    assert!(ex.used.is_empty());
}

#[test]
fn healthcheck_forms() {
    let Instruction::Healthcheck(h) =
        only("HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://x/")
    else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD-SHELL", "curl -f http://x/"]);
    assert_eq!(h.interval, Some(Duration::from_secs(90)));
    assert_eq!(h.retries, Some(3));
    assert_eq!(h.timeout, None);
    let Instruction::Healthcheck(h) = only("HEALTHCHECK CMD [\"a\", \"b\"]") else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD", "a", "b"]);
    let Instruction::Healthcheck(h) = only("HEALTHCHECK NONE") else {
        panic!()
    };
    assert_eq!(h.test, vec!["NONE"]);
    assert!(err("FROM a\nHEALTHCHECK CONNECT x")
        .message
        .starts_with("Unknown type"));
    assert!(err("FROM a\nHEALTHCHECK --retries=-1 CMD x")
        .message
        .contains("cannot be negative"));
    assert!(err("FROM a\nHEALTHCHECK --timeout=1ns CMD x")
        .message
        .contains("cannot be less than"));
}

#[test]
fn healthcheck_none_refuses_flags_buildkit_would_ignore() {
    assert_eq!(
        err("FROM a\nHEALTHCHECK --interval=5s NONE").message,
        "HEALTHCHECK NONE takes no flags, got --interval=5s"
    );
}

#[test]
fn onbuild_expression_and_simple() {
    assert_eq!(
        only("onbuild RUN echo hi"),
        Instruction::Onbuild("RUN echo hi".into())
    );
    assert_eq!(only("USER app:app"), Instruction::User("app:app".into()));
    assert_eq!(
        only("VOLUME [\"/a\", \"/b\"]"),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        only("STOPSIGNAL SIGTERM"),
        Instruction::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        only("SHELL [\"bash\", \"-c\"]"),
        Instruction::Shell(vec!["bash".into(), "-c".into()])
    );
}

#[test]
fn expansion_rules_and_used_vars() {
    let src = "FROM a\nENV P=/opt/$NAME\nEXPOSE $PORTS\nWORKDIR ${DIR:-/w}\nCMD echo $NAME\nCOPY --from=$STAGE --chown=$U src/ $P/\nRUN --mount=type=cache,target=$CACHE,id=c-$NAME x\n";
    let (_, st) = stages(src);
    let env: HashMap<String, String> = [
        ("NAME", "app"),
        ("PORTS", "80 443/udp"),
        ("STAGE", "b"),
        ("U", "1000"),
        ("CACHE", "/cache"),
        ("P", "/p"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let lex = Lexer::new('\\');
    let ex: Vec<Expanded> = st[0]
        .commands
        .iter()
        .map(|c| c.expand(&lex, &env).unwrap())
        .collect();
    let Instruction::Env(kv) = &ex[0].command.instruction else {
        panic!()
    };
    assert_eq!(kv[0].value, "/opt/app");
    assert_eq!(ex[0].used.iter().collect::<Vec<_>>(), vec!["NAME"]);
    assert_eq!(
        ex[1].command.instruction,
        Instruction::Expose(vec!["80".into(), "443/udp".into()])
    );
    assert_eq!(ex[2].command.instruction, Instruction::Workdir("/w".into()));
    assert!(ex[2].used.contains("DIR"));
    assert_eq!(ex[3].command, st[0].commands[3]);
    assert!(ex[3].used.is_empty());
    let Instruction::Copy(c) = &ex[4].command.instruction else {
        panic!()
    };
    // convert.go `toCommand`: `--from` is never expanded (the builder refuses a variable).
    assert_eq!(
        (c.from.as_deref(), c.chown.as_deref(), c.dest.as_str()),
        (Some("$STAGE"), Some("1000"), "/p/")
    );
    let Instruction::Run(r) = &ex[5].command.instruction else {
        panic!()
    };
    assert_eq!(
        (r.mounts[0].target.as_str(), r.mounts[0].id.as_deref()),
        ("/cache", Some("c-app"))
    );
    assert!(ex[5].used.contains("CACHE"));
}

/// convert.go `dispatch` skips ARG: `dispatchArg` expands each default in turn.
#[test]
fn arg_is_left_for_the_builder_to_expand() {
    let (_, st) = stages("FROM a\nARG c=2 d=$c $K=x\n");
    let env: HashMap<String, String> = [("c".to_string(), "1".to_string())].into();
    let ex = st[0].commands[0].expand(&Lexer::new('\\'), &env).unwrap();
    assert_eq!(ex.command, st[0].commands[0]);
    assert!(ex.used.is_empty());
}

#[test]
fn expansion_errors_propagate() {
    let (_, st) = stages("FROM a\nWORKDIR ${NEED:?set it}\n");
    let env: HashMap<String, String> = HashMap::new();
    let e = st[0].commands[0]
        .expand(&Lexer::new('\\'), &env)
        .unwrap_err();
    assert!(e.to_string().contains("NEED: set it"));
}

/// One line per instruction that uses every flag of its table.
const EVERY_FLAG: &[&str] = &[
    "FROM --platform=linux/amd64 img",
    "RUN --mount=type=tmpfs,target=/t --network=none --security=sandbox true",
    "CMD true",
    "LABEL a=b",
    "MAINTAINER me",
    "EXPOSE 80",
    "ENV a=b",
    "ADD --chown=1 --chmod=644 --link --exclude=x --checksum=sha256:00 --keep-git-dir --unpack=true http://h/a /b",
    "COPY --from=a --chown=1 --chmod=644 --link --parents --exclude=x a /b",
    "ENTRYPOINT true",
    "VOLUME /v",
    "USER u",
    "WORKDIR /w",
    "ARG a",
    "ONBUILD RUN true",
    "STOPSIGNAL SIGTERM",
    "HEALTHCHECK --interval=1s --timeout=1s --start-period=1s --start-interval=1s --retries=1 CMD true",
    "SHELL [\"sh\", \"-c\"]",
];

fn line_for(name: &str) -> &'static str {
    EVERY_FLAG
        .iter()
        .find(|l| l.split(' ').next().unwrap().eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no sample line for {name}"))
}

#[test]
fn the_instruction_table_is_what_the_parser_accepts() {
    let table = instruction_table();
    assert_eq!(table.len(), EVERY_FLAG.len(), "one sample per instruction");
    for (name, flags) in &table {
        let line = line_for(name);
        for flag in flags {
            assert!(line.contains(&format!("--{flag}")), "{line} lacks --{flag}");
        }
        let src = if *name == "from" {
            line.to_string()
        } else {
            format!("FROM scratch\n{line}")
        };
        parse_instructions(&parse(&src).unwrap())
            .unwrap_or_else(|e| panic!("{line}: {}", e.message));
        let keyword = name.to_uppercase();
        let bogus = src.replacen(&keyword, &format!("{keyword} --bogus"), 1);
        let e = parse_instructions(&parse(&bogus).unwrap()).unwrap_err();
        assert_eq!(e.message, "unknown flag: bogus", "{bogus}");
    }
    assert!(err("FROM scratch\nCOPPY a b")
        .message
        .starts_with("unknown instruction"));
}
