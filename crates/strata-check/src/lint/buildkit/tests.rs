//! BuildKit v0.24's `dockerfile_lint_test.go` cases, ported: the same Dockerfiles, the same
//! (rule, line, detail) warnings.

use crate::lint::{check, BuildContext, Options, RuleSets};
use strata_dockerfile::DockerIgnore;

fn options() -> Options {
    Options {
        rules: RuleSets::BUILDKIT,
        ..Options::default()
    }
}

fn warnings_with(src: &str, opts: &Options) -> Vec<(String, usize, String)> {
    check(src, "Dockerfile", opts)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| (f.code.to_string(), f.line, f.message.into_owned()))
        .collect()
}

fn expect(src: &str, want: &[(&str, usize, &str)]) {
    expect_with(src, &options(), want);
}

fn expect_with(src: &str, opts: &Options, want: &[(&str, usize, &str)]) {
    let got = warnings_with(src, opts);
    let want: Vec<(String, usize, String)> = want
        .iter()
        .map(|(r, l, d)| (r.to_string(), *l, d.to_string()))
        .collect();
    assert_eq!(got, want, "on:\n{src}");
}

#[test]
fn rule_check_option() {
    expect(
        "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n",
        &[],
    );
    expect("#check=skip=ConsistentInstructionCasing,FromAsCasing\nFROM scratch as base\ncopy Dockerfile .\n", &[]);
    expect(
        "#check=skip=ConsistentInstructionCasing\nFROM scratch as base\ncopy Dockerfile .\n",
        &[(
            "FromAsCasing",
            2,
            "'as' and 'FROM' keywords' casing do not match",
        )],
    );
    let report = check("#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as base\ncopy Dockerfile .\n", "Dockerfile", &options()).unwrap();
    assert!(report.config.error);
    // The build argument replaces the directive.
    let mut opts = options();
    opts.check_override = Some("skip=all".into());
    expect_with(
        "#check=error=true\nFROM scratch as base\ncopy Dockerfile .\n",
        &opts,
        &[],
    );
}

#[test]
fn stage_name_and_from_as_casing() {
    expect(
        "\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n# warning: 'as' should match 'FROM' cmd casing.\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n",
        &[
            ("StageNameCasing", 4, "Stage name 'BadStageName' should be lowercase"),
            ("FromAsCasing", 8, "'as' and 'FROM' keywords' casing do not match"),
        ],
    );
    expect(
        "\nfrom scratch AS base\n\nfrom scratch as base2\n",
        &[(
            "FromAsCasing",
            2,
            "'AS' and 'from' keywords' casing do not match",
        )],
    );
}

#[test]
fn no_empty_continuation() {
    expect(
        "\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n",
        &[("NoEmptyContinuation", 6, "Empty continuation line")],
    );
}

#[test]
fn consistent_instruction_casing() {
    expect(
        "\n#\nFrom scratch as base\nFROM scratch AS base2\n",
        &[(
            "ConsistentInstructionCasing",
            3,
            "Command 'From' should match the case of the command majority (uppercase)",
        )],
    );
    expect(
        "\nfrom scratch\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\ncopy Dockerfile /baz\n",
        &[(
            "ConsistentInstructionCasing",
            4,
            "Command 'COPY' should match the case of the command majority (lowercase)",
        )],
    );
    expect("\nfrom scratch\ncopy Dockerfile /foo\n", &[]);
}

#[test]
fn duplicate_and_reserved_stage_names() {
    expect(
        "\nFROM scratch AS b\nFROM scratch AS b\n",
        &[(
            "DuplicateStageName",
            3,
            "Duplicate stage name \"b\", stage names should be unique",
        )],
    );
    expect(
        "\nFROM scratch AS scratch\nFROM scratch AS context\n",
        &[
            (
                "ReservedStageName",
                2,
                "Stage name should not use the same name as reserved stage \"scratch\"",
            ),
            (
                "ReservedStageName",
                3,
                "Stage name should not use the same name as reserved stage \"context\"",
            ),
        ],
    );
}

#[test]
fn json_args_recommended() {
    expect(
        "\nFROM scratch\nCMD mycommand\n",
        &[("JSONArgsRecommended", 3, "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals")],
    );
    expect(
        "\nFROM scratch\nENTRYPOINT mycommand\n",
        &[("JSONArgsRecommended", 3, "JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals")],
    );
    expect(
        "\nFROM scratch\nSHELL [\"/usr/bin/customshell\"]\nCMD mycommand\n",
        &[],
    );
    expect("\nFROM scratch AS base\nSHELL [\"/usr/bin/customshell\"]\n\nFROM base\nENTRYPOINT mycommand\n", &[]);
}

#[test]
fn maintainer_deprecated() {
    expect(
        "\nFROM scratch\nMAINTAINER me@example.org\n",
        &[(
            "MaintainerDeprecated",
            3,
            "Maintainer instruction is deprecated in favor of using label",
        )],
    );
}

#[test]
fn undeclared_arg_in_from() {
    expect("\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n", &[]);
    expect(
        "\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\n",
        &[],
    );
    expect("\nFROM --platform=$BUILDPLATFORM scratch\n", &[]);
    expect("\nARG DEBUG\nFROM scratch${DEBUG}\n", &[]);
    expect("\nARG DEBUG\nFROM scra${DEBUG:-tch}\n", &[]);
    expect(
        "\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n",
        &[(
            "UndefinedArgInFrom",
            2,
            "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)",
        )],
    );
    expect(
        "\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\n",
        &[(
            "UndefinedArgInFrom",
            4,
            "FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)",
        )],
    );
    expect(
        "\nARG tag=latest\nFROM busybox:${tag}${version} AS b\n",
        &[(
            "UndefinedArgInFrom",
            3,
            "FROM argument 'version' is not declared",
        )],
    );
}

#[test]
fn workdir_relative_path() {
    expect(
        "\nFROM scratch\nWORKDIR app/\n",
        &[(
            "WorkdirRelativePath",
            3,
            "Relative workdir \"app/\" can have unexpected results if the base image changes",
        )],
    );
    expect(
        "\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n",
        &[],
    );
}

#[test]
fn unmatched_vars() {
    expect("\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n", &[]);
    expect(
        "\nFROM alpine AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n",
        &[],
    );
    expect("\nFROM alpine\nRUN echo $PATH\n", &[]);
    expect(
        "\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n",
        &[("UndefinedVar", 3, "Usage of undefined variable '$foo'")],
    );
    expect(
        "\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n",
        &[("UndefinedVar", 6, "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)")],
    );
    expect(
        "\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n",
        &[(
            "UndefinedVar",
            3,
            "Usage of undefined variable '$PAHT' (did you mean $PATH?)",
        )],
    );
    // A base image's own variables, when the caller knows them, are defined.
    let mut opts = options();
    opts.base_env.insert(
        "eclipse-temurin:21".into(),
        vec![("JAVA_HOME".into(), "/opt/java".into())],
    );
    expect_with("FROM eclipse-temurin:21\nWORKDIR $JAVA_HOME\n", &opts, &[]);
}

#[test]
fn multiple_instructions_disallowed() {
    let msg = |i: &str| {
        format!("Multiple {i} instructions should not be used in the same stage because only the last one will be used")
    };
    let (e, c, h) = (msg("ENTRYPOINT"), msg("CMD"), msg("HEALTHCHECK"));
    expect(
        "\nFROM scratch\nENTRYPOINT [\"/myapp\"]\nENTRYPOINT [\"/myotherapp\"]\nCMD [\"/myapp\"]\nCMD [\"/myotherapp\"]\nHEALTHCHECK CMD [\"/myapp\"]\nHEALTHCHECK CMD [\"/myotherapp\"]\n",
        &[
            ("MultipleInstructionsDisallowed", 3, &e),
            ("MultipleInstructionsDisallowed", 5, &c),
            ("MultipleInstructionsDisallowed", 7, &h),
        ],
    );
    expect("\nFROM scratch AS a\nENTRYPOINT [\"/myapp\"]\nCMD [\"/myapp\"]\n\nFROM a AS b\nENTRYPOINT [\"/x\"]\nCMD [\"/x\"]\n", &[]);
}

#[test]
fn legacy_key_value_format() {
    expect(
        "\nFROM scratch\nENV testkey value\nLABEL key value\n",
        &[
            (
                "LegacyKeyValueFormat",
                3,
                "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
            ),
            (
                "LegacyKeyValueFormat",
                4,
                "\"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format",
            ),
        ],
    );
    expect("\nFROM scratch\nENV testkey=value\nLABEL key=value\n", &[]);
}

#[test]
fn redundant_target_platform_and_const_platform() {
    expect(
        "\nFROM --platform=$TARGETPLATFORM scratch\n",
        &[("RedundantTargetPlatform", 2, "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior")],
    );
    expect(
        "\nFROM --platform=${TARGETPLATFORM} scratch\n",
        &[("RedundantTargetPlatform", 2, "Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior")],
    );
    expect(
        "\nFROM --platform=linux/amd64 scratch\n",
        &[(
            "FromPlatformFlagConstDisallowed",
            2,
            "FROM --platform flag should not use constant value \"linux/amd64\"",
        )],
    );
    expect(
        "\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n",
        &[],
    );
    expect("\nFROM --platform=linux/amd64 scratch AS linux\n", &[]);
}

#[test]
fn secrets_used_in_arg_or_env() {
    let m = |i: &str, k: &str| {
        format!("Do not use ARG or ENV instructions for sensitive data ({i} \"{k}\")")
    };
    let r = "SecretsUsedInArgOrEnv";
    expect(
        "\nFROM scratch\nARG SECRET_PASSPHRASE\nENV SUPER_Secret=foo\nENV password=bar secret=baz\nARG super_duper_secret_token=foo auth=bar\nENV apikey=bar sunflower=foo\nENV git_key=\nENV PUBLIC_KEY=\nARG public_token\n",
        &[
            (r, 3, &m("ARG", "SECRET_PASSPHRASE")),
            (r, 4, &m("ENV", "SUPER_Secret")),
            (r, 5, &m("ENV", "password")),
            (r, 5, &m("ENV", "secret")),
            (r, 6, &m("ARG", "auth")),
            (r, 6, &m("ARG", "super_duper_secret_token")),
            (r, 7, &m("ENV", "apikey")),
            (r, 8, &m("ENV", "git_key")),
        ],
    );
}

#[test]
fn invalid_default_arg_in_from() {
    let r = "InvalidDefaultArgInFrom";
    expect(
        "\nARG VERSION\nFROM busybox:$VERSION\n",
        &[(
            r,
            3,
            "Default value for ARG busybox:$VERSION results in empty or invalid base image name",
        )],
    );
    expect(
        "\nARG IMAGE\nFROM $IMAGE\n",
        &[(
            r,
            3,
            "Default value for ARG $IMAGE results in empty or invalid base image name",
        )],
    );
    expect(
        "\nARG SFX=\"box:\"\nFROM busy${SFX}\n",
        &[(
            r,
            3,
            "Default value for ARG busy${SFX} results in empty or invalid base image name",
        )],
    );
    expect("\nARG VERSION=\"latest\"\nFROM busybox:${VERSION}\n", &[]);
    expect(
        "\nARG BUSYBOX_VARIANT=\"\"\nFROM busybox:stable${BUSYBOX_VARIANT}\n",
        &[],
    );
}

#[test]
fn expose_checks() {
    expect(
        "\nFROM scratch\nEXPOSE 80/TcP\n",
        &[(
            "ExposeProtoCasing",
            3,
            "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase",
        )],
    );
    let m = |p: &str| {
        format!(
            "EXPOSE instruction should not define an IP address or host-port mapping, found '{p}'"
        )
    };
    let r = "ExposeInvalidFormat";
    expect(
        "\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n",
        &[
            (r, 3, &m("127.0.0.1:80:80")),
            (r, 3, &m("5000:5000")),
            (r, 3, &m("[::1]:8080:8080")),
        ],
    );
}

#[test]
fn copy_ignored_file_is_experimental_and_uses_the_dockerignore() {
    let mut opts = options();
    opts.context = Some(BuildContext {
        dockerignore: Some(DockerIgnore::parse("Dockerfile\n").unwrap()),
        root_entries: vec!["Dockerfile".into()],
    });
    expect_with("FROM scratch\nCOPY Dockerfile .\n", &opts, &[]);
    let r = "CopyIgnoredFile";
    expect_with(
        "# check=experimental=CopyIgnoredFile\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n",
        &opts,
        &[
            (r, 3, "Attempting to Copy file \"Dockerfile\" that is excluded by .dockerignore"),
            (r, 4, "Attempting to Add file \"Dockerfile\" that is excluded by .dockerignore"),
        ],
    );
    expect_with(
        "# check=skip=all;experimental=CopyIgnoredFile\nFROM scratch AS base\nCOPY Dockerfile /foobar\nFROM base\nCOPY --from=base /foobar /Dockerfile\n",
        &opts,
        &[(r, 3, "Attempting to Copy file \"Dockerfile\" that is excluded by .dockerignore")],
    );
}

#[test]
fn definition_description_is_experimental() {
    let src = "# check=experimental=InvalidDefinitionDescription\n# bar this is the bar\nARG foo=bar\n# BasE this is the BasE image\nFROM scratch AS base\n# definitely a bad comment\nARG version=latest\n# definitely a bad comment\nARG foo=baz bar=qux baz=quux\n";
    let r = "InvalidDefinitionDescription";
    expect(
        src,
        &[
            (
                r,
                3,
                "Comment for ARG should follow the format: `# foo <description>`",
            ),
            (
                r,
                5,
                "Comment for FROM should follow the format: `# base <description>`",
            ),
            (
                r,
                7,
                "Comment for ARG should follow the format: `# version <description>`",
            ),
            (
                r,
                9,
                "Comment for ARG should follow the format: `# <arg_key> <description>`",
            ),
        ],
    );
    let good = "# check=experimental=InvalidDefinitionDescription\n# foo this is the foo\nARG foo=bar\n# base this is the base image\nFROM scratch AS base\n#\nARG bit=bat\n";
    expect(good, &[]);
    expect(
        &src.replacen(
            "# check=experimental=InvalidDefinitionDescription\n",
            "\n",
            1,
        ),
        &[],
    );
}

#[test]
fn a_build_checks_only_the_stages_its_target_needs() {
    let src = "FROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n";
    let undefined = |s: &str| {
        (
            "UndefinedVar",
            if s == "foo" { 2 } else { 5 },
            format!("Usage of undefined variable '${s}'"),
        )
    };
    let (foo, bar) = (undefined("foo"), undefined("bar"));
    // Lint (BuildKit's lint subrequest): every stage.
    expect(src, &[(foo.0, foo.1, &foo.2), (bar.0, bar.1, &bar.2)]);
    // A build of the last stage (testAllTargetUnmarshal): only `second`.
    let mut opts = options();
    opts.build_target = Some(None);
    expect_with(src, &opts, &[(bar.0, bar.1, &bar.2)]);
    opts.build_target = Some(Some("first".into()));
    expect_with(src, &opts, &[(foo.0, foo.1, &foo.2)]);
    // COPY --from pulls a stage in.
    let dep = "FROM scratch AS first\nCOPY $foo .\nFROM scratch\nCOPY --from=first /a /b\n";
    opts.build_target = Some(None);
    expect_with(dep, &opts, &[(foo.0, foo.1, &foo.2)]);
}
