//! ARG scoping and the variables a step's words are expanded with.
//!
//! BuildKit's rules: ARGs declared before the first FROM ("meta args") are visible only in FROM
//! lines, unless a stage declares them again (`ARG NAME` with no default takes the meta value).
//! `--build-arg` overrides a declared default. Inside a stage, ARG and ENV write the same build
//! environment (`dispatchArg` and `dispatchEnv` both `AddEnv` to the stage's LLB state), so the
//! later of the two wins, for expansion and for RUN; only ENV reaches the image config. A
//! stage built on another one starts from that stage's build environment and ARGs.

use std::collections::{BTreeMap, BTreeSet};

use strata_dockerfile::Env;

/// ARGs every build defines without a declaration: BuildKit's `defaultArgs`
/// (`frontend/dockerfile/dockerfile2llb/platform.go`). `target` is the `--target` as given,
/// else the last stage's name; `TARGETSTAGE` is `default` when that is empty.
pub fn builtin_args(architecture: &str, target: &str) -> BTreeMap<String, String> {
    let platform = format!("linux/{architecture}");
    let mut m = BTreeMap::new();
    for prefix in ["BUILD", "TARGET"] {
        m.insert(format!("{prefix}PLATFORM"), platform.clone());
        m.insert(format!("{prefix}OS"), "linux".to_owned());
        m.insert(format!("{prefix}OSVERSION"), String::new());
        m.insert(format!("{prefix}ARCH"), architecture.to_owned());
        m.insert(format!("{prefix}VARIANT"), String::new());
    }
    let stage = if target.is_empty() { "default" } else { target };
    m.insert("TARGETSTAGE".to_owned(), stage.to_owned());
    m
}

/// Proxy variables docker passes through as build args without a declaration.
pub const BUILTIN_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A stage's build environment, as BuildKit's LLB state keeps it: the base image's ENV, then
/// every ARG that has a value and every ENV, in order, a name set again replacing its value in
/// place; and the ARGs the stage (or a stage it is built on) declared, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    vars: Vec<(String, String)>,
    declared: Vec<String>,
}

impl Scope {
    /// Sets each `KEY=VALUE` of an image config's `Env`, as BuildKit does when a stage starts
    /// (also over the environment inherited from a base stage).
    pub fn apply_image_env(&mut self, env: &[String]) {
        for kv in env {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            self.set(k, v);
        }
    }

    /// ENV (or an ARG with a value): replaces `key`'s value in place, or appends it.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.vars.push((key.to_owned(), value.to_owned())),
        }
    }

    /// ARG: records the declaration and, when it has a value, sets it.
    pub fn declare(&mut self, key: &str, value: Option<&str>) {
        if !self.declared.iter().any(|k| k == key) {
            self.declared.push(key.to_owned());
        }
        if let Some(v) = value {
            self.set(key, v);
        }
    }

    /// The environment a RUN step gets, `KEY=VALUE` in order.
    pub fn env(&self) -> Vec<String> {
        self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The declared ARGs with their current value (empty when unset), in declaration order:
    /// what BuildKit's `runCommandString` prints as `RUN |N K=V …` and what enters RUN's key.
    pub fn run_args(&self) -> Vec<(String, String)> {
        self.declared
            .iter()
            .map(|k| (k.clone(), self.get(k).unwrap_or_default().to_owned()))
            .collect()
    }
}

impl Env for Scope {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where an `ARG` declaration's value comes from and what it needs.
pub struct ArgSources<'a> {
    /// `--build-arg`s.
    pub build_args: &'a BTreeMap<String, String>,
    /// The meta ARGs (empty for the meta ARGs themselves).
    pub meta: &'a BTreeMap<String, String>,
}

impl ArgSources<'_> {
    /// The value of `ARG key[=default]`: a `--build-arg` wins (the default is then not even
    /// expanded), then the default expanded by `expand`, then the meta ARG of the same name
    /// (BuildKit's `dispatchArg` and `buildMetaArgs`). A used `--build-arg` goes into `used`.
    pub fn value<E>(
        &self,
        key: &str,
        default: Option<&str>,
        expand: impl FnOnce(&str) -> Result<String, E>,
        used: &mut BTreeSet<String>,
    ) -> Result<Option<String>, E> {
        if let Some(v) = self.build_args.get(key) {
            used.insert(key.to_owned());
            return Ok(Some(v.clone()));
        }
        match default {
            Some(d) => expand(d).map(Some),
            None => Ok(self.meta.get(key).cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BuildKit's `dispatchArg` and `dispatchEnv` both `AddEnv` to the stage's state
    /// (frontend/dockerfile/dockerfile2llb/convert.go): the later one wins.
    #[test]
    fn the_later_of_arg_and_env_wins() {
        let mut s = Scope::default();
        s.apply_image_env(&["PATH=/bin".into(), "A=env".into()]);
        s.declare("A", Some("arg"));
        assert_eq!(s.get("A"), Some("arg"));
        assert_eq!(s.env(), ["PATH=/bin", "A=arg"], "replaced in place");
        s.set("A", "env2");
        assert_eq!(s.get("A"), Some("env2"));
        assert_eq!(s.run_args(), [("A".to_owned(), "env2".to_owned())]);
    }

    /// convert.go `runCommandString`: every declared ARG once, in declaration order, with its
    /// current value or empty.
    #[test]
    fn run_args_keep_declaration_order_and_valueless_args() {
        let mut s = Scope::default();
        s.declare("B", Some("1"));
        s.declare("A", Some("2"));
        s.declare("N", None);
        s.declare("B", Some("3"));
        let got: Vec<String> = s
            .run_args()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(got, ["B=3", "A=2", "N="]);
        assert_eq!(
            s.env(),
            ["B=3", "A=2"],
            "a valueless ARG is not in the environment"
        );
    }

    /// platform.go `defaultArgs`.
    #[test]
    fn builtin_args_are_buildkits_default_args() {
        let m = builtin_args("amd64", "");
        assert_eq!(m["TARGETSTAGE"], "default");
        assert_eq!(m["BUILDOSVERSION"], "");
        assert_eq!(m["TARGETOSVERSION"], "");
        assert_eq!(m["TARGETPLATFORM"], "linux/amd64");
        assert_eq!(m.len(), 11);
        assert_eq!(builtin_args("arm64", "build")["TARGETSTAGE"], "build");
    }

    #[test]
    fn build_args_override_defaults_and_meta() {
        let mut used = BTreeSet::new();
        let mut ba = BTreeMap::new();
        ba.insert("V".into(), "cli".into());
        let mut meta = BTreeMap::new();
        meta.insert("M".into(), "meta".into());
        let src = ArgSources {
            build_args: &ba,
            meta: &meta,
        };
        let fail = |_: &str| -> Result<String, &str> { Err("a --build-arg skips the default") };
        assert_eq!(
            src.value("V", Some("$BAD"), fail, &mut used),
            Ok(Some("cli".into()))
        );
        let upper = |d: &str| Ok::<_, &str>(d.to_uppercase());
        assert_eq!(
            src.value("D", Some("d"), upper, &mut used),
            Ok(Some("D".into()))
        );
        assert_eq!(
            src.value("M", None, upper, &mut used),
            Ok(Some("meta".into()))
        );
        assert_eq!(src.value("N", None, upper, &mut used), Ok(None));
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["V"]);
    }
}
