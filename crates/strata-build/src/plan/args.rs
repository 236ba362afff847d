//! ARG scoping and the variables a step's words are expanded with.
//!
//! BuildKit's rules: ARGs declared before the first FROM ("meta args") are visible only in FROM
//! lines, unless a stage declares them again (`ARG NAME` with no default takes the meta value).
//! `--build-arg` overrides a declared default. ENV wins over an ARG of the same name. ARG values
//! are never written into the image config.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use strata_dockerfile::Env;

/// ARGs every build defines without a declaration (BuildKit's automatic platform args).
pub fn platform_args(architecture: &str) -> BTreeMap<String, String> {
    let platform = format!("linux/{architecture}");
    let mut m = BTreeMap::new();
    for prefix in ["BUILD", "TARGET"] {
        m.insert(format!("{prefix}PLATFORM"), platform.clone());
        m.insert(format!("{prefix}OS"), "linux".to_owned());
        m.insert(format!("{prefix}ARCH"), architecture.to_owned());
        m.insert(format!("{prefix}VARIANT"), String::new());
    }
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

/// The variables visible to word expansion in a stage: ARGs in scope, then the image's ENV on
/// top (ENV wins).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub args: BTreeMap<String, String>,
    pub env: HashMap<String, String>,
}

impl Scope {
    pub fn new(args: BTreeMap<String, String>, image_env: &[String]) -> Scope {
        let mut s = Scope {
            args,
            env: HashMap::new(),
        };
        s.set_image_env(image_env);
        s
    }

    pub fn set_image_env(&mut self, image_env: &[String]) {
        self.env = image_env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv.clone(), String::new()),
            })
            .collect();
    }

    /// The ARGs whose values reach a RUN step's environment (those not shadowed by ENV).
    pub fn run_args(&self) -> BTreeMap<String, String> {
        self.args
            .iter()
            .filter(|(k, _)| !self.env.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl Env for Scope {
    fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.args.get(name))
            .map(String::as_str)
    }
}

/// Resolves the value of an `ARG key[=default]` declaration: a `--build-arg` wins, then the
/// declared default, then (for a stage) the meta ARG of the same name.
pub fn declare(
    key: &str,
    default: Option<String>,
    build_args: &BTreeMap<String, String>,
    meta: &BTreeMap<String, String>,
    used: &mut BTreeSet<String>,
) -> Option<String> {
    if let Some(v) = build_args.get(key) {
        used.insert(key.to_owned());
        return Some(v.clone());
    }
    default.or_else(|| meta.get(key).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_args() {
        let mut args = BTreeMap::new();
        args.insert("A".into(), "arg".into());
        args.insert("B".into(), "b".into());
        let s = Scope::new(args, &["A=env".into()]);
        assert_eq!(s.get("A"), Some("env"));
        assert_eq!(s.get("B"), Some("b"));
        assert_eq!(s.run_args().keys().collect::<Vec<_>>(), ["B"]);
    }

    #[test]
    fn build_args_override_defaults_and_meta() {
        let mut used = BTreeSet::new();
        let mut ba = BTreeMap::new();
        ba.insert("V".into(), "cli".into());
        let mut meta = BTreeMap::new();
        meta.insert("M".into(), "meta".into());
        assert_eq!(
            declare("V", Some("d".into()), &ba, &meta, &mut used),
            Some("cli".into())
        );
        assert_eq!(
            declare("M", None, &ba, &meta, &mut used),
            Some("meta".into())
        );
        assert_eq!(declare("N", None, &ba, &meta, &mut used), None);
        assert!(used.contains("V"));
    }
}
