//! Registry keys: how `auths` and `credHelpers` entries are named and matched.
//!
//! Docker names Docker Hub `https://index.docker.io/v1/` and every other registry by its
//! `host[:port]` (older `docker login`s wrote URLs such as `https://quay.io/v1/`).
//! containers/image (podman, skopeo, buildah) names Docker Hub `docker.io`, accepts
//! namespaced keys (`quay.io/team/app`), and matches old URL keys by their host. A lookup
//! here accepts all of these.

use super::CredentialsError;

/// Docker's key for Docker Hub in `auths`, `credHelpers` and credential helpers.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// What a lookup, a login or a logout is about: a registry, optionally narrowed to a
/// namespace or repository inside it (a containers/image extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryKey {
    /// `host[:port]`, with Docker Hub's aliases normalised to `docker.io`.
    pub host: String,
    /// `ns/repo` of a namespaced key, without leading or trailing `/`.
    pub path: Option<String>,
}

impl RegistryKey {
    /// Parses `docker.io`, `localhost:5000`, `https://index.docker.io/v1/`,
    /// `http://reg.example:5000` or `quay.io/team/app`. A URL keeps only its host, as
    /// docker's `ConvertToHostname` does; a bare name keeps its path as a namespace.
    pub fn parse(input: &str) -> Result<RegistryKey, CredentialsError> {
        let invalid = || CredentialsError::InvalidRegistry {
            registry: input.to_owned(),
        };
        let stripped = strip_scheme(input);
        let (host, path) = match stripped.split_once('/') {
            Some((host, _)) if stripped.len() != input.len() => (host, None),
            Some((host, path)) => (host, Some(path.trim_matches('/'))),
            None => (stripped, None),
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '@') {
            return Err(invalid());
        }
        let path = path.filter(|p| !p.is_empty()).map(str::to_owned);
        Ok(RegistryKey {
            host: normalize_registry(host).to_owned(),
            path,
        })
    }

    pub fn is_docker_hub(&self) -> bool {
        self.host == "docker.io"
    }

    /// The key docker writes and hands to credential helpers: Docker Hub's URL, or
    /// `host[:port]` (a namespaced key keeps its path).
    pub fn docker_key(&self) -> String {
        match &self.path {
            Some(path) => format!("{}/{path}", self.host),
            None if self.is_docker_hub() => DOCKER_HUB_KEY.to_owned(),
            None => self.host.clone(),
        }
    }

    /// The keys tried as exact matches in an `auths` map, most specific first:
    /// `reg/ns/app`, `reg/ns`, `reg` (containers/image's `authKeysForKey`), then
    /// Docker's Hub URL.
    pub fn exact_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(path) = &self.path {
            let mut prefix = path.as_str();
            loop {
                keys.push(format!("{}/{prefix}", self.host));
                match prefix.rsplit_once('/') {
                    Some((shorter, _)) => prefix = shorter,
                    None => break,
                }
            }
        }
        keys.push(self.host.clone());
        if self.is_docker_hub() {
            keys.push(DOCKER_HUB_KEY.to_owned());
        }
        keys
    }

    /// The keys a `credHelpers` entry may be under for this registry: containers' form
    /// (`docker.io`) and docker's (`https://index.docker.io/v1/`). Helpers know no
    /// namespaces, as in containers/image.
    pub fn helper_keys(&self) -> Vec<String> {
        let mut keys = vec![self.host.clone()];
        if self.is_docker_hub() {
            keys.push(DOCKER_HUB_KEY.to_owned());
        }
        keys
    }
}

fn strip_scheme(s: &str) -> &str {
    s.strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s)
}

/// containers/image's `normalizeRegistry`: Docker Hub's host aliases are `docker.io`.
pub fn normalize_registry(host: &str) -> &str {
    match host {
        "registry-1.docker.io" | "docker.io" | "index.docker.io" => "docker.io",
        other => other,
    }
}

/// containers/image's `normalizeAuthFileKey`: a URL key (or any key of the legacy
/// `~/.dockercfg`) counts by its host; other keys are kept whole.
pub fn normalize_key(key: &str, legacy: bool) -> String {
    let stripped = strip_scheme(key);
    let stripped = if legacy || stripped.len() != key.len() {
        stripped.split('/').next().unwrap_or(stripped)
    } else {
        stripped
    };
    normalize_registry(stripped).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> RegistryKey {
        RegistryKey::parse(s).unwrap()
    }

    #[test]
    fn docker_hub_aliases_and_url_are_one_registry() {
        for s in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
            "https://registry-1.docker.io",
        ] {
            assert_eq!(key(s), key("docker.io"), "{s}");
        }
        assert_eq!(key("docker.io").docker_key(), DOCKER_HUB_KEY);
    }

    #[test]
    fn urls_keep_their_host_and_bare_names_their_namespace() {
        let k = key("http://localhost:5000/v2/");
        assert_eq!((k.host.as_str(), k.path), ("localhost:5000", None));
        let k = key("quay.io/team/app/");
        assert_eq!(k.path.as_deref(), Some("team/app"));
        assert_eq!(k.docker_key(), "quay.io/team/app");
        assert_eq!(key("quay.io").docker_key(), "quay.io");
    }

    #[test]
    fn exact_keys_go_from_the_repository_up_to_the_registry() {
        assert_eq!(
            key("reg.example/ns/user/app").exact_keys(),
            vec![
                "reg.example/ns/user/app",
                "reg.example/ns/user",
                "reg.example/ns",
                "reg.example",
            ]
        );
        assert_eq!(
            key("docker.io").exact_keys(),
            vec!["docker.io", DOCKER_HUB_KEY]
        );
    }

    #[test]
    fn empty_or_odd_registries_are_rejected() {
        for s in ["", "https://", "/ns/app", "user@host", "a b"] {
            assert!(
                matches!(
                    RegistryKey::parse(s),
                    Err(CredentialsError::InvalidRegistry { .. })
                ),
                "{s:?}"
            );
        }
    }

    #[test]
    fn file_keys_normalise_like_containers_image() {
        assert_eq!(normalize_key(DOCKER_HUB_KEY, false), "docker.io");
        assert_eq!(normalize_key("https://quay.io/v1/", false), "quay.io");
        assert_eq!(normalize_key("quay.io/ns", false), "quay.io/ns");
        assert_eq!(normalize_key("quay.io/ns", true), "quay.io");
        assert_eq!(normalize_key("index.docker.io", false), "docker.io");
    }
}
