//! Content discovery: tag lists and the catalog (paginated), and referrers.

use strata_distribution::{Page, RepositoryName};
use strata_oci::{Descriptor, Digest};

use super::{Registry, ServiceError};
use crate::meta::Listing;

/// The referrers of a subject, after the `artifactType` filter.
pub struct Referrers {
    pub descriptors: Vec<Descriptor>,
    /// Whether a filter was applied (`OCI-Filters-Applied: artifactType`).
    pub filtered: bool,
}

impl Registry {
    /// A page of `name`'s tags; an unknown repository is [`ServiceError::NameUnknown`].
    pub async fn tags(&self, name: &RepositoryName, page: &Page) -> Result<Listing, ServiceError> {
        if !self.meta.repository_exists(name).await? {
            return Err(ServiceError::NameUnknown { name: name.clone() });
        }
        Ok(self.meta.tags(name, page).await?)
    }

    /// A page of the repository names.
    pub async fn catalog(&self, page: &Page) -> Result<Listing, ServiceError> {
        Ok(self.meta.repositories(page).await?)
    }

    /// The manifests of `name` whose subject is `subject` (an empty list when there are
    /// none, whether or not the subject exists).
    pub async fn referrers(
        &self,
        name: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, ServiceError> {
        let all = self.meta.referrers(name, subject).await?;
        let (descriptors, filtered) =
            strata_distribution::referrers::filter_by_artifact_type(all, artifact_type);
        Ok(Referrers {
            descriptors,
            filtered,
        })
    }
}
