//! The rules, as data: one [`Rule`] row per hadolint rule, each with a small check function
//! that returns the lines (first line of the instruction) where the rule is broken.

mod cmd;
mod copy;
mod flags;
mod from;
mod instr;
mod labels;
pub(crate) mod order;
mod pkg;
mod run;
mod stage;
mod vars;

use std::borrow::Cow;

use super::{Context, Severity};

pub use labels::{LabelRule, LABEL_RULES};

/// One lint rule. Its user docs are at `docs/rules/<id>.md`.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub message: &'static str,
    /// The lines where the rule is broken.
    pub check: fn(&Context) -> Vec<usize>,
}

impl Rule {
    /// The docs page of the rule, relative to the repository root.
    pub fn docs_path(&self) -> String {
        format!("docs/rules/{}.md", self.id)
    }
}

use Severity::*;

/// Every implemented rule, ordered by id.
pub static RULES: &[Rule] = &[
    Rule { id: "DL1001", severity: Ignore, message: "Please refrain from using inline ignore pragmas  `# hadolint ignore=DLxxxx`.", check: order::ignore_pragma },
    Rule { id: "DL3000", severity: Error, message: "Use absolute WORKDIR", check: instr::workdir_relative },
    Rule { id: "DL3001", severity: Info, message: "For some bash commands it makes no sense running them in a Docker container like `ssh`, `vim`, `shutdown`, `service`, `ps`, `free`, `top`, `kill`, `mount`, `ifconfig`", check: cmd::pointless },
    Rule { id: "DL3002", severity: Warning, message: "Last USER should not be root", check: instr::last_user_root },
    Rule { id: "DL3003", severity: Warning, message: "Use WORKDIR to switch to a directory", check: run::cd },
    Rule { id: "DL3004", severity: Error, message: "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root", check: run::sudo },
    Rule { id: "DL3006", severity: Warning, message: "Always tag the version of an image explicitly", check: from::untagged },
    Rule { id: "DL3007", severity: Warning, message: "Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag", check: from::latest },
    Rule { id: "DL3008", severity: Warning, message: "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`", check: run::apt_unpinned },
    Rule { id: "DL3009", severity: Info, message: "Delete the apt lists (/var/lib/apt/lists) after installing something", check: run::apt_lists_kept },
    Rule { id: "DL3010", severity: Info, message: "Use `ADD` for extracting archives into an image", check: copy::copied_archive_extracted },
    Rule { id: "DL3011", severity: Error, message: "Valid UNIX ports range from 0 to 65535", check: vars::expose_out_of_range },
    Rule { id: "DL3012", severity: Error, message: "Multiple `HEALTHCHECK` instructions", check: stage::multiple_healthcheck },
    Rule { id: "DL3013", severity: Warning, message: "Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`", check: run::pip_unpinned },
    Rule { id: "DL3014", severity: Warning, message: "Use the `-y` switch to avoid manual input `apt-get -y install <package>`", check: run::apt_no_yes },
    Rule { id: "DL3015", severity: Info, message: "Avoid additional packages by specifying `--no-install-recommends`", check: run::apt_recommends },
    Rule { id: "DL3016", severity: Warning, message: "Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`", check: run::npm_unpinned },
    Rule { id: "DL3018", severity: Warning, message: "Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`", check: pkg::apk_unpinned },
    Rule { id: "DL3019", severity: Info, message: "Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages", check: pkg::apk_cache },
    Rule { id: "DL3020", severity: Error, message: "Use COPY instead of ADD for files and folders", check: instr::add_local },
    Rule { id: "DL3021", severity: Error, message: "COPY with more than 2 arguments requires the last argument to end with /", check: copy::many_sources_no_slash },
    Rule { id: "DL3022", severity: Warning, message: "`COPY --from` should reference a previously defined `FROM` alias", check: copy::from_unknown_stage },
    Rule { id: "DL3023", severity: Error, message: "`COPY --from` cannot reference its own `FROM` alias", check: copy::from_own_stage },
    Rule { id: "DL3024", severity: Error, message: "FROM aliases (stage names) must be unique", check: instr::duplicate_alias },
    Rule { id: "DL3025", severity: Warning, message: "Use arguments JSON notation for CMD and ENTRYPOINT arguments", check: instr::cmd_not_json },
    Rule { id: "DL3026", severity: Error, message: "Use only an allowed registry in the FROM image", check: stage::untrusted_registry },
    Rule { id: "DL3027", severity: Warning, message: "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead", check: run::apt },
    Rule { id: "DL3028", severity: Warning, message: "Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`", check: pkg::gem_unpinned },
    Rule { id: "DL3029", severity: Warning, message: "Do not use --platform flag with FROM", check: stage::platform_flag },
    Rule { id: "DL3030", severity: Warning, message: "Use the -y switch to avoid manual input `yum install -y <package>`", check: pkg::yum_no_yes },
    Rule { id: "DL3032", severity: Warning, message: "`yum clean all` missing after yum command.", check: pkg::yum_no_clean },
    Rule { id: "DL3033", severity: Warning, message: "Specify version with `yum install -y <package>-<version>`.", check: pkg::yum_unpinned },
    Rule { id: "DL3034", severity: Warning, message: "Non-interactive switch missing from `zypper` command: `zypper install -y`", check: pkg::zypper_no_yes },
    Rule { id: "DL3035", severity: Warning, message: "Do not use `zypper dist-upgrade`.", check: pkg::zypper_dist_upgrade },
    Rule { id: "DL3036", severity: Warning, message: "`zypper clean` missing after zypper use.", check: pkg::zypper_no_clean },
    Rule { id: "DL3037", severity: Warning, message: "Specify version with `zypper install -y <package>=<version>`.", check: pkg::zypper_unpinned },
    Rule { id: "DL3038", severity: Warning, message: "Use the -y switch to avoid manual input `dnf install -y <package>`", check: pkg::dnf_no_yes },
    Rule { id: "DL3040", severity: Warning, message: "`dnf clean all` missing after dnf command.", check: pkg::dnf_no_clean },
    Rule { id: "DL3041", severity: Warning, message: "Specify version with `dnf install -y <package>-<version>`.", check: pkg::dnf_unpinned },
    Rule { id: "DL3042", severity: Warning, message: "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`", check: run::pip_cache },
    Rule { id: "DL3043", severity: Error, message: "`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.", check: order::bad_onbuild_trigger },
    Rule { id: "DL3044", severity: Error, message: "Do not refer to an environment variable within the same `ENV` statement where it is defined.", check: vars::env_self_reference },
    Rule { id: "DL3045", severity: Warning, message: "`COPY` to a relative destination without `WORKDIR` set.", check: copy::relative_dest_without_workdir },
    Rule { id: "DL3046", severity: Warning, message: "`useradd` without flag `-l` and high UID will result in excessively large Image.", check: vars::useradd_high_uid },
    Rule { id: "DL3047", severity: Info, message: "Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`. Or consider using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`).", check: cmd::wget_progress },
    Rule { id: "DL3048", severity: Style, message: "Invalid label key.", check: labels::invalid_key },
    Rule { id: "DL3050", severity: Info, message: "Superfluous label(s) present.", check: labels::superfluous },
    Rule { id: "DL3057", severity: Ignore, message: "`HEALTHCHECK` instruction missing.", check: stage::healthcheck_missing },
    Rule { id: "DL3059", severity: Info, message: "Multiple consecutive `RUN` instructions. Consider consolidation.", check: stage::consecutive_runs },
    Rule { id: "DL3060", severity: Info, message: "`yarn cache clean` missing after `yarn install` was run.", check: pkg::yarn_no_clean },
    Rule { id: "DL3061", severity: Error, message: "Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.", check: order::before_from },
    Rule { id: "DL3062", severity: Warning, message: "Pin versions in go. Instead of `go install <package>` use `go install <package>@<version>`", check: pkg::go_unpinned },
    Rule { id: "DL3063", severity: Warning, message: "stage name should not be a reserved word", check: stage::reserved_name },
    Rule { id: "DL3064", severity: Warning, message: "Potentially sensitive data should not be used in the `ARG` or `ENV` commands", check: vars::sensitive_name },
    Rule { id: "DL3065", severity: Warning, message: "Setting `FROM --platform` to predefined `$TARGETPLATFORM` in is redundant as this is the default behavior", check: stage::platform_target },
    Rule { id: "DL3066", severity: Info, message: "Non-numeric user-id may not be resolvable by host system", check: vars::user_not_numeric },
    Rule { id: "DL3067", severity: Warning, message: "Do not copy an entire filesystem from another stage", check: copy::whole_filesystem },
    Rule { id: "DL4000", severity: Error, message: "MAINTAINER is deprecated", check: instr::maintainer },
    Rule { id: "DL4001", severity: Warning, message: "Either use Wget or Curl but not both", check: cmd::wget_and_curl },
    Rule { id: "DL4003", severity: Warning, message: "Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect", check: instr::multiple_cmd },
    Rule { id: "DL4004", severity: Error, message: "Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect", check: instr::multiple_entrypoint },
    Rule { id: "DL4005", severity: Warning, message: "Use SHELL to change the default shell", check: run::ln_bin_sh },
    Rule { id: "DL4006", severity: Warning, message: "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check", check: run::pipe_without_pipefail },
];

/// One rule broken at a line, before the configuration is applied.
pub struct Hit {
    pub code: &'static str,
    pub severity: Severity,
    pub line: usize,
    pub message: Cow<'static, str>,
}

/// Every rule of [`RULES`] and [`LABEL_RULES`] run on `ctx`.
pub fn hits<'a>(ctx: &'a Context<'a>) -> impl Iterator<Item = Hit> + 'a {
    let fixed = RULES.iter().flat_map(move |rule| {
        (rule.check)(ctx).into_iter().map(move |line| Hit {
            code: rule.id,
            severity: rule.severity,
            line,
            message: Cow::Borrowed(rule.message),
        })
    });
    let labels = LABEL_RULES.iter().flat_map(move |rule| {
        (rule.check)(ctx).into_iter().map(move |(line, label)| Hit {
            code: rule.id,
            severity: rule.severity,
            line,
            message: Cow::Owned(rule.message.replace("{label}", &label)),
        })
    });
    fixed.chain(labels)
}

/// The ids of every implemented rule.
pub fn ids() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .map(|r| r.id)
        .chain(LABEL_RULES.iter().map(|r| r.id))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pkg_cmd;
