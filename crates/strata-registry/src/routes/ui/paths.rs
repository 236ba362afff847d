//! The web view's URLs: parsing a request's path into the [`Page`] it asks for, and building
//! the links pages print. Repository names hold `/`, so an image's page follows a `/-/`
//! separator, as the governance API (`-` is never a name component).

use strata_distribution::{RepositoryName, Tag};
use strata_oci::Digest;

/// Where the web view lives.
pub const PREFIX: &str = "/ui";

/// A page of the web view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/ui`, `/ui/`: the repositories.
    Index,
    /// `/ui/repositories/<name>`.
    Repository(RepositoryName),
    /// `/ui/repositories/<name>/-/images/<digest>`.
    Image(RepositoryName, Digest),
    /// `/ui/repositories/<name>/-/images/<tag>`: redirected to its digest's page.
    Tagged(RepositoryName, Tag),
    /// `/ui/lineage[?root=<name>@<digest>|<name>:<tag>]`.
    Lineage { root: Option<String> },
}

/// Why a path names no page (the 404 page says it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoPage(pub String);

/// Whether `path` belongs to the web view.
pub fn is_ui(path: &str) -> bool {
    path == PREFIX || path.starts_with("/ui/")
}

impl Page {
    /// The page `path` (and `query`) name.
    pub fn parse(path: &str, query: Option<&str>) -> Result<Page, NoPage> {
        let rest = path.strip_prefix(PREFIX).unwrap_or(path);
        match rest.trim_end_matches('/') {
            "" => return Ok(Page::Index),
            "/lineage" => return Ok(Page::Lineage { root: root(query)? }),
            _ => {}
        }
        let Some(repo) = rest.strip_prefix("/repositories/") else {
            return Err(NoPage(format!("no page at {path}")));
        };
        match repo.split_once("/-/images/") {
            Some((name, reference)) => {
                let reference = reference.trim_end_matches('/');
                if let Ok(digest) = reference.parse::<Digest>() {
                    return Ok(Page::Image(name_of(name)?, digest));
                }
                let tag = reference
                    .parse::<Tag>()
                    .map_err(|_| NoPage(format!("{reference:?} is neither a digest nor a tag")))?;
                Ok(Page::Tagged(name_of(name)?, tag))
            }
            None => Ok(Page::Repository(name_of(repo.trim_end_matches('/'))?)),
        }
    }
}

fn name_of(text: &str) -> Result<RepositoryName, NoPage> {
    text.parse()
        .map_err(|_| NoPage(format!("{text:?} is not a repository name")))
}

/// The `root` query parameter (percent-decoded), if any.
fn root(query: Option<&str>) -> Result<Option<String>, NoPage> {
    let Some(query) = query else {
        return Ok(None);
    };
    let found = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "root")
        .map(|(_, v)| v.into_owned());
    Ok(found.filter(|v| !v.is_empty()))
}

/// The index page's URL.
pub fn index() -> String {
    format!("{PREFIX}/")
}

/// A repository page's URL.
pub fn repository(name: &str) -> String {
    format!("{PREFIX}/repositories/{name}")
}

/// An image page's URL.
pub fn image(repository: &str, digest: &Digest) -> String {
    format!("{PREFIX}/repositories/{repository}/-/images/{digest}")
}

/// The lineage page's URL, rooted at `root` (`name@digest`) when given.
pub fn lineage(root: Option<&str>) -> String {
    match root {
        None => format!("{PREFIX}/lineage"),
        Some(root) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("root", root)
                .finish();
            format!("{PREFIX}/lineage?{query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::of(b"x")
    }

    #[test]
    fn every_page_parses_from_the_url_it_is_linked_by() {
        let d = digest();
        let name: RepositoryName = "team/app".parse().unwrap();
        let cases = [
            (index(), Page::Index),
            (repository("team/app"), Page::Repository(name.clone())),
            (image("team/app", &d), Page::Image(name.clone(), d.clone())),
            (
                "/ui/repositories/team/app/-/images/v1.0".to_owned(),
                Page::Tagged(name, "v1.0".parse().unwrap()),
            ),
            (lineage(None), Page::Lineage { root: None }),
        ];
        for (url, page) in cases {
            assert_eq!(Page::parse(&url, None), Ok(page), "{url}");
        }
        assert_eq!(Page::parse("/ui", None), Ok(Page::Index));
        let url = lineage(Some(&format!("base@{d}")));
        let (path, query) = url.split_once('?').unwrap();
        assert_eq!(
            Page::parse(path, Some(query)),
            Ok(Page::Lineage {
                root: Some(format!("base@{d}"))
            })
        );
    }

    #[test]
    fn a_bad_name_or_digest_or_unknown_path_is_no_page() {
        for path in [
            "/ui/nope",
            "/ui/repositories/Team",
            "/ui/repositories/a/-/images/sha256:zz",
            "/ui/repositories/a/-/images/-bad",
            "/ui/repositories/",
        ] {
            assert!(Page::parse(path, None).is_err(), "{path}");
        }
        assert!(is_ui("/ui") && is_ui("/ui/lineage") && !is_ui("/uix") && !is_ui("/v2/"));
    }
}
