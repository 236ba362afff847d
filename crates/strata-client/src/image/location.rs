//! Where an image is copied from or to, in skopeo's `transport:details` grammar
//! (containers/image's transports), plus the bare references docker takes:
//!
//! - `docker://REF` or a bare `REF`: a registry (`docker://` is skopeo's spelling);
//! - `store:NAME`: strata's local store (a reference, an image ID or a manifest digest as
//!   a source; a reference with a tag as a destination);
//! - `oci:PATH[:TAG]`: an OCI image layout directory; the tag is the index entry's
//!   `org.opencontainers.image.ref.name`;
//! - `docker-archive:PATH[:REF]`: a tar as `docker save` (Docker 25+) writes it.
//!
//! As in containers/image, the path ends at the first `:` (`oci:/tmp/x:v1` is the layout
//! `/tmp/x`, tag `v1`). Other containers/image transports (`containers-storage:`,
//! `docker-daemon:`, `dir:`, `oci-archive:` …) are refused by name, never read as a
//! reference of Docker Hub.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use strata_oci::Reference;

use super::error::TransferError;

/// Transports of containers/image that strata does not read or write.
const OTHER_TRANSPORTS: &[&str] = &[
    "containers-storage",
    "docker-daemon",
    "dir",
    "oci-archive",
    "ostree",
    "sif",
    "tarball",
];

/// A transfer location (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Registry(Reference),
    Store(String),
    Oci {
        path: PathBuf,
        tag: Option<String>,
    },
    DockerArchive {
        path: PathBuf,
        reference: Option<Reference>,
    },
}

impl FromStr for Location {
    type Err = TransferError;

    fn from_str(input: &str) -> Result<Location, TransferError> {
        let bad = |reason: &str| TransferError::Location {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = input.strip_prefix("docker://") {
            return parse_reference(rest).map(Location::Registry);
        }
        if let Some(name) = input.strip_prefix("store:") {
            if name.is_empty() {
                return Err(bad("store: needs an image name or ID"));
            }
            return Ok(Location::Store(name.to_owned()));
        }
        if let Some(rest) = input.strip_prefix("oci:") {
            let (path, tag) = split_path(rest).ok_or_else(|| bad("oci: needs a path"))?;
            if let Some(tag) = &tag {
                check_tag(input, tag)?;
            }
            return Ok(Location::Oci { path, tag });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            let (path, r) = split_path(rest).ok_or_else(|| bad("docker-archive: needs a path"))?;
            let reference = r.as_deref().map(parse_reference).transpose()?;
            return Ok(Location::DockerArchive { path, reference });
        }
        if let Some(transport) = other_transport(input) {
            return Err(TransferError::UnknownTransport {
                input: input.to_owned(),
                transport,
            });
        }
        parse_reference(input).map(Location::Registry)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Registry(r) => write!(f, "docker://{r}"),
            Location::Store(name) => write!(f, "store:{name}"),
            Location::Oci { path, tag } => {
                write!(f, "oci:{}", path.display())?;
                tag.iter().try_for_each(|t| write!(f, ":{t}"))
            }
            Location::DockerArchive { path, reference } => {
                write!(f, "docker-archive:{}", path.display())?;
                reference.iter().try_for_each(|r| write!(f, ":{r}"))
            }
        }
    }
}

pub(crate) fn parse_reference(input: &str) -> Result<Reference, TransferError> {
    Reference::parse(input).map_err(|source| TransferError::Reference {
        input: input.to_owned(),
        source,
    })
}

/// `PATH[:REST]`, split at the first `:`; `None` for an empty path.
fn split_path(rest: &str) -> Option<(PathBuf, Option<String>)> {
    let (path, tail) = match rest.split_once(':') {
        Some((p, t)) => (p, Some(t.to_owned())),
        None => (rest, None),
    };
    (!path.is_empty()).then(|| (PathBuf::from(path), tail.filter(|t| !t.is_empty())))
}

/// An OCI layout tag: `ref.name` is free text in the spec, but skopeo and strata take
/// docker's tag grammar (so a tag cannot be mistaken for a path or a digest).
fn check_tag(input: &str, tag: &str) -> Result<(), TransferError> {
    match tag.parse::<strata_distribution::Tag>() {
        Ok(_) => Ok(()),
        Err(source) => Err(TransferError::Name {
            reference: input.to_owned(),
            source,
        }),
    }
}

/// `containers-storage:…`, `ftp://…`: a transport strata does not have.
fn other_transport(input: &str) -> Option<String> {
    let (head, rest) = input.split_once(':')?;
    let named = OTHER_TRANSPORTS.contains(&head);
    let url_like = rest.starts_with("//") && !head.contains(['.', '/']);
    (named || url_like).then(|| head.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(s: &str) -> Location {
        s.parse().unwrap()
    }

    #[test]
    fn registry_references_bare_or_with_docker_scheme() {
        let r = Reference::parse("127.0.0.1:5000/app:1").unwrap();
        assert_eq!(loc("127.0.0.1:5000/app:1"), Location::Registry(r.clone()));
        assert_eq!(loc("docker://127.0.0.1:5000/app:1"), Location::Registry(r));
        assert_eq!(
            loc("busybox"),
            Location::Registry(Reference::parse("docker.io/library/busybox:latest").unwrap())
        );
    }

    #[test]
    fn layouts_and_archives_split_at_the_first_colon() {
        assert_eq!(
            loc("oci:/tmp/l:v1"),
            Location::Oci {
                path: "/tmp/l".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            loc("oci:rel"),
            Location::Oci {
                path: "rel".into(),
                tag: None
            }
        );
        assert_eq!(
            loc("docker-archive:/tmp/a.tar:reg.io/app:2"),
            Location::DockerArchive {
                path: "/tmp/a.tar".into(),
                reference: Some(Reference::parse("reg.io/app:2").unwrap())
            }
        );
        assert_eq!(loc("store:app:1"), Location::Store("app:1".into()));
    }

    #[test]
    fn round_trips_through_display() {
        for s in ["oci:/tmp/l:v1", "docker-archive:/a.tar", "store:app:1"] {
            assert_eq!(loc(s).to_string(), s);
        }
        assert_eq!(
            loc("busybox").to_string(),
            "docker://docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn unknown_transports_are_named() {
        for (input, transport) in [
            ("containers-storage:app", "containers-storage"),
            ("docker-daemon:app:1", "docker-daemon"),
            ("dir:/tmp/x", "dir"),
            ("ftp://host/app", "ftp"),
        ] {
            match input.parse::<Location>() {
                Err(TransferError::UnknownTransport { transport: t, .. }) => {
                    assert_eq!(t, transport, "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_locations() {
        assert!(matches!(
            "oci:".parse::<Location>(),
            Err(TransferError::Location { .. })
        ));
        assert!(matches!(
            "store:".parse::<Location>(),
            Err(TransferError::Location { .. })
        ));
        assert!(matches!(
            "oci:/x:bad/tag".parse::<Location>(),
            Err(TransferError::Name { .. })
        ));
        assert!(matches!(
            "docker://Busybox".parse::<Location>(),
            Err(TransferError::Reference { .. })
        ));
    }
}
