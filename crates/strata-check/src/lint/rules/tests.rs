//! One finds / does-not-find pair per rule, on whole Dockerfiles.

use crate::lint::lint;

/// The lines where `code` is reported for `src`.
pub(super) fn lines(src: &str, code: &str) -> Vec<usize> {
    lint(src, "Dockerfile")
        .unwrap()
        .into_iter()
        .filter(|f| f.code == code)
        .map(|f| f.line)
        .collect()
}

fn finds(code: &str, src: &str, expected: &[usize]) {
    assert_eq!(lines(src, code), expected, "{code} on:\n{src}");
}

#[test]
fn dl3002_last_user_root() {
    finds("DL3002", "FROM a:1\nUSER app\nUSER root\n", &[3]);
    finds("DL3002", "FROM a:1\nUSER 0:0\n", &[2]);
    finds("DL3002", "FROM a:1\nUSER root\nUSER app\n", &[]);
    finds("DL3002", "FROM a:1 AS b\nUSER root\nFROM a:1\n", &[2]);
}

#[test]
fn dl3003_cd() {
    finds("DL3003", "FROM a:1\nRUN mkdir x && cd x && make\n", &[2]);
    finds("DL3003", "FROM a:1\nRUN echo cd\n", &[]);
}

#[test]
fn dl3004_sudo() {
    finds(
        "DL3004",
        "FROM a:1\nRUN true && sudo apt-get update\n",
        &[2],
    );
    finds("DL3004", "FROM a:1\nRUN echo sudo\n", &[]);
    finds("DL3004", "FROM a:1\nRUN if true; then sudo ls; fi\n", &[2]);
}

#[test]
fn dl3006_dl3007_base_tags() {
    let src = "FROM debian AS a\nFROM debian:latest\nFROM a\nFROM scratch\nFROM debian@sha256:00\nFROM reg:5000/x\n";
    finds("DL3006", src, &[1, 6]);
    finds("DL3007", src, &[2]);
    finds("DL3006", "FROM debian:12\n", &[]);
}

#[test]
fn dl3008_apt_pins() {
    finds(
        "DL3008",
        "FROM a:1\nRUN apt-get update && apt-get install -y curl=7.8 \\\n  git\n",
        &[2],
    );
    finds(
        "DL3008",
        "FROM a:1\nRUN apt-get install -y -o Dpkg::Options::=x curl=7 ./x.deb\n",
        &[],
    );
}

#[test]
fn dl3009_apt_lists() {
    finds(
        "DL3009",
        "FROM a:1\nRUN apt-get update && apt-get install -y x\n",
        &[2],
    );
    finds(
        "DL3009",
        "FROM a:1\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\n",
        &[],
    );
    finds(
        "DL3009",
        "FROM a:1 AS build\nRUN apt-get update\nFROM a:1\n",
        &[],
    );
}

#[test]
fn dl3014_yes() {
    finds("DL3014", "FROM a:1\nRUN apt-get install curl\n", &[2]);
    for yes in ["-y", "--yes", "-qqy", "-qq", "--assume-yes"] {
        finds(
            "DL3014",
            &format!("FROM a:1\nRUN apt-get install {yes} curl\n"),
            &[],
        );
    }
}

#[test]
fn dl3015_recommends() {
    finds("DL3015", "FROM a:1\nRUN apt-get install -y curl\n", &[2]);
    finds(
        "DL3015",
        "FROM a:1\nRUN apt-get install -y --no-install-recommends curl\n",
        &[],
    );
}

#[test]
fn dl3013_dl3042_pip() {
    finds(
        "DL3013",
        "FROM a:1\nRUN pip install --no-cache-dir flask\n",
        &[2],
    );
    finds(
        "DL3013",
        "FROM a:1\nRUN python3 -m pip install flask==3 -r req.txt .\n",
        &[],
    );
    finds(
        "DL3013",
        "FROM a:1\nRUN pip install git+https://h/x/y.git\n",
        &[2],
    );
    finds(
        "DL3013",
        "FROM a:1\nRUN pip install git+ssh://git@h/x/y.git@v1\n",
        &[],
    );
    finds("DL3042", "FROM a:1\nRUN pip3 install flask==3\n", &[2]);
    finds(
        "DL3042",
        "FROM a:1\nRUN pip install --no-cache-dir flask==3\n",
        &[],
    );
}

#[test]
fn dl3016_npm() {
    finds(
        "DL3016",
        "FROM a:1\nRUN npm install -g @scope/x express@4\n",
        &[2],
    );
    finds(
        "DL3016",
        "FROM a:1\nRUN npm install && npm i @scope/x@1 ./local\n",
        &[],
    );
}

#[test]
fn dl3020_add() {
    finds("DL3020", "FROM a:1\nADD app /app\n", &[2]);
    finds(
        "DL3020",
        "FROM a:1\nADD https://x/y /y\nADD a.tar.gz /\n",
        &[],
    );
}

#[test]
fn dl3025_json_cmd() {
    finds("DL3025", "FROM a:1\nCMD run me\nENTRYPOINT x\n", &[2, 3]);
    finds("DL3025", "FROM a:1\nCMD [\"run\"]\n", &[]);
}

#[test]
fn dl4000_maintainer() {
    finds("DL4000", "FROM a:1\nMAINTAINER me\n", &[2]);
}

#[test]
fn dl4006_pipefail() {
    finds("DL4006", "FROM a:1\nRUN curl x | sh\n", &[2]);
    let set = "FROM a:1\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN curl x | sh\nFROM b:1\nRUN a | b\n";
    finds("DL4006", set, &[5]);
    finds("DL4006", "FROM a:1\nRUN a || b\n", &[]);
    finds(
        "DL4006",
        "FROM a:1\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN a | b\n",
        &[],
    );
}

#[test]
fn inline_ignore_silences_only_the_named_rules() {
    let src = "FROM a:1\n# hadolint ignore=DL3008,DL3015\nRUN apt-get install -y curl\n";
    assert!(lines(src, "DL3008").is_empty());
    assert!(lines(src, "DL3015").is_empty());
}

#[test]
fn unparsable_file_names_file_and_line() {
    let err = lint("FROM a:1\nCOPPY x y\n", "app/Dockerfile").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("app/Dockerfile:2"), "{text}");
}

#[test]
fn dl3000_absolute_workdir() {
    finds(
        "DL3000",
        "FROM a:1\nWORKDIR app\nWORKDIR /app\nWORKDIR $HOME/x\nWORKDIR \"/q\"\n",
        &[2],
    );
}

#[test]
fn dl3024_unique_aliases() {
    finds(
        "DL3024",
        "FROM a:1 AS x\nFROM a:1 AS y\nFROM a:1 AS X\n",
        &[3],
    );
}

#[test]
fn dl3027_apt() {
    finds(
        "DL3027",
        "FROM a:1\nRUN apt update && apt-get -y install x\n",
        &[2],
    );
    finds("DL3027", "FROM a:1\nRUN apt-get update\n", &[]);
}

#[test]
fn dl4003_dl4004_repeated_cmd_entrypoint() {
    let src = "FROM a:1\nCMD [\"a\"]\nENTRYPOINT [\"a\"]\nCMD [\"b\"]\nENTRYPOINT [\"b\"]\nFROM a:1\nCMD [\"c\"]\n";
    finds("DL4003", src, &[4]);
    finds("DL4004", src, &[5]);
}

#[test]
fn dl4005_ln_bin_sh() {
    finds("DL4005", "FROM a:1\nRUN ln -sf /bin/bash /bin/sh\n", &[2]);
    finds("DL4005", "FROM a:1\nRUN ln -s /a /b\n", &[]);
}
