//! The package-manager (`pkg.rs`) and command (`cmd.rs`) rules on whole Dockerfiles: where
//! each reports and where it must not. Every expectation was checked with hadolint 2.15.1.

use super::tests::lines;

/// `code` on `FROM x:1` followed by `runs`, one instruction a line: the lines it reports.
fn finds(code: &str, runs: &[&str], expected: &[usize]) {
    let src = format!("FROM x:1\n{}\n", runs.join("\n"));
    assert_eq!(lines(&src, code), expected, "{code} on:\n{src}");
}

#[test]
fn dl3001_pointless_commands() {
    finds(
        "DL3001",
        &[
            "RUN service nginx start",
            "RUN echo ok && ps aux",
            "RUN ssh-keyscan host && echo vim",
            "RUN ifconfig && /usr/sbin/service x",
            "RUN x=$(top -b -n1)",
        ],
        &[2, 3, 6],
    );
}

#[test]
fn dl3018_apk_pins() {
    finds(
        "DL3018",
        &[
            "RUN apk add --no-cache curl",
            "RUN apk add --no-cache curl=8 'git>2' jq~1 ./x.apk",
            "RUN apk add --no-cache -t .deps --repository http://r -X http://m gcc=13",
            "RUN apk add --no-cache --virtual=.v gcc=13 make",
            "RUN apk add --no-cache gcc>=13",
            "RUN apk del curl",
        ],
        // `gcc>=13` unquoted is `gcc` redirected to the file `=13`.
        &[2, 5, 6],
    );
}

#[test]
fn dl3019_apk_cache() {
    finds(
        "DL3019",
        &[
            "RUN apk add curl=8",
            "RUN apk add --no-cache curl=8 && apk --update add jq=1",
            "RUN --mount=type=cache,target=/var/cache/apk apk add curl=8",
            "RUN --mount=type=bind,target=/var/cache/apk apk add curl=8",
            "RUN apk update && apk upgrade",
        ],
        &[2, 3, 5],
    );
}

#[test]
fn dl3028_gem_pins() {
    finds(
        "DL3028",
        &[
            "RUN gem install bundler",
            "RUN gem install bundler:2 && gem i rake:13",
            "RUN gem install rails -v 7 && gem install nokogiri --version=1.16",
            // As hadolint: an option swallows the next word, so `rubocop` is not checked.
            "RUN gem install --no-document rubocop",
            "RUN gem i rspec",
            "RUN gem update --system",
        ],
        &[2, 6],
    );
}

#[test]
fn dl3030_dl3032_dl3033_yum() {
    let runs = [
        "RUN yum install httpd-2.4.6 && yum clean all",
        "RUN yum install -y httpd-2.4.6 && rm -rf /var/cache/yum/*",
        "RUN yum clean all && yum install --assumeyes httpd-2.4.6",
        "RUN yum install -y httpd epel-release-7 ./a-1.rpm && yum clean all",
        "RUN yum module install -y nodejs:18 && yum module install -y php && yum clean all",
        "RUN yum groupinstall Tools && yum localinstall -y ./a-1.rpm",
        "RUN yum -y update",
    ];
    finds("DL3030", &runs, &[2, 7]);
    finds("DL3032", &runs, &[4]);
    finds("DL3033", &runs, &[5, 6]);
}

#[test]
fn dl3033_dl3041_versions_from_arg_and_env() {
    let src = "ARG V=1\nFROM x:1 AS base\nENV E=2\nRUN yum install -y a-${E} b-$V\n\
               FROM base\nRUN yum install -y c-$E\nFROM x:1\nRUN dnf install -y d-${E}\n\
               ARG L\nRUN dnf install -y e-${L} f-${V:-1}\nONBUILD RUN yum install -y g-$V\n";
    assert_eq!(lines(src, "DL3033"), [11]);
    // `${V:-1}` is not `${V}`, as hadolint reads it.
    assert_eq!(lines(src, "DL3041"), [8, 10]);
}

#[test]
fn dl3034_dl3035_dl3036_dl3037_zypper() {
    let runs = [
        "RUN zypper install curl=8 && zypper clean",
        "RUN zypper -n in 'git>2' ./x.rpm && zypper cc",
        "RUN zypper dup -y && zypper rm vim",
        "RUN zypper clean && zypper install --no-confirm tar<2 gzip",
        "RUN --mount=type=cache,target=/var/cache/zypp zypper in -y less",
        "RUN zypper --non-interactive si make && zypper patch -y",
    ];
    finds("DL3034", &runs, &[2, 4]);
    finds("DL3035", &runs, &[4]);
    finds("DL3036", &runs, &[5]);
    // `tar<2` unquoted is `tar` reading the file `2`.
    finds("DL3037", &runs, &[5, 6]);
}

#[test]
fn dl3038_dl3040_dl3041_dnf() {
    let runs = [
        "RUN dnf install httpd-2.4 && dnf clean all",
        "RUN microdnf install -y tar-1.35 && dnf clean all",
        "RUN dnf -y upgrade && dnf install -y git-2.45 && rm -rf /var/cache/libdnf5*",
        "RUN --mount=type=cache,target=/root/.cache/libdnf5 dnf install --assumeyes gcc",
        "RUN dnf module install -y nodejs:20 php && dnf clean all",
        "RUN dnf group install -y Tools && dnf groupinstall X && dnf clean all",
        "RUN dnf clean all && dnf reinstall -y bash-5",
    ];
    finds("DL3038", &runs, &[2, 7]);
    finds("DL3040", &runs, &[3, 8]);
    finds("DL3041", &runs, &[5, 6]);
}

#[test]
fn dl3047_wget_progress() {
    finds(
        "DL3047",
        &[
            "RUN wget https://x/a",
            "RUN wget -q https://x/a && wget --quiet https://x/b",
            "RUN wget --progress=dot:giga https://x/c",
            "RUN wget -nv https://x/d && wget --no-verbose https://x/e",
            "RUN wget -O /tmp/f https://x/f",
            "RUN wget -o log https://x/g && wget -a log https://x/h",
            "RUN echo `wget https://x/i`",
        ],
        &[2, 6, 8],
    );
}

#[test]
fn dl3060_yarn_cache() {
    let src = "FROM node:20 AS deps\nRUN yarn install\nFROM node:20 AS tools\nRUN yarn install\n\
               FROM deps\nRUN yarn install && yarn cache clean\nRUN yarn cache clean && yarn install\n\
               RUN --mount=type=cache,target=/root/.cache/yarn yarn install\n";
    // `deps` is built on (line 2); `tools` is not (line 4); clean before install (line 7).
    assert_eq!(lines(src, "DL3060"), [2, 7]);
    let same_from = "FROM node:20\nRUN yarn install\nFROM node:20\nRUN echo\n";
    assert_eq!(lines(same_from, "DL3060"), [2]);
}

#[test]
fn dl3062_go_pins() {
    finds(
        "DL3062",
        &[
            "RUN go install github.com/a/b",
            "RUN go install github.com/a/b@v1 && go get golang.org/x/t@v0.1",
            "RUN go install github.com/a/b@latest",
            "RUN go install . ./cmd/... /src/x && go build ./...",
            "RUN go run github.com/a/b@v1 github.com/not/a/package",
            "RUN go run ./gen.go && go install github.com/x/y",
            "RUN go get -u golang.org/x/text",
        ],
        &[2, 4, 8],
    );
}

#[test]
fn dl4001_wget_and_curl_per_stage() {
    let src = "FROM x:1\nRUN curl -sS a\nRUN echo\nRUN wget -q b\nRUN curl c\n\
               FROM x:1\nRUN wget -q d\nRUN curl e && wget -q f\n";
    assert_eq!(lines(src, "DL4001"), [4, 5, 8]);
    assert_eq!(
        lines("FROM x:1\nRUN curl a\nRUN curl b\n", "DL4001"),
        [0; 0]
    );
}

#[test]
fn onbuild_run_triggers_are_checked_at_the_onbuild_line() {
    let src = "FROM x:1\nONBUILD RUN apk add curl && cd /x\nONBUILD COPY . /\nRUN apk add --no-cache jq=1\n";
    assert_eq!(lines(src, "DL3018"), [2]);
    assert_eq!(lines(src, "DL3019"), [2]);
    // hadolint does not check ONBUILD for DL3003.
    assert_eq!(lines(src, "DL3003"), [0; 0]);
}

#[test]
fn sh_c_strings_are_not_looked_into_as_in_hadolint() {
    finds(
        "DL3018",
        &[
            "RUN sh -c 'apk add curl'",
            "RUN [\"apk\", \"add\", \"bash\"]",
        ],
        &[3],
    );
}

#[test]
fn a_heredoc_run_is_linted_by_its_body() {
    let src =
        "FROM x:1\nRUN <<EOF\napk add curl\nEOF\n\nRUN cat <<EOF > /x && apk add vim\nhello\nEOF\n";
    assert_eq!(lines(src, "DL3018"), [2]);
}

#[test]
fn dl3009_apt_lists_cache_mounts_and_hadolints_cleanup() {
    finds(
        "DL3009",
        &[
            "RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update",
            "RUN --mount=type=cache,target=/var/lib/apt --mount=type=tmpfs,target=/var/cache/apt apt-get update",
            "RUN --mount=type=cache,target=/var/lib/apt apt-get update",
            "RUN aptitude update",
            "RUN apt-get update && rm -r /var/lib/apt/lists",
            "RUN apt-get update && rm /var/lib/apt/lists/*",
        ],
        &[4, 5, 6],
    );
}
