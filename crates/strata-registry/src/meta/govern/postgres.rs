//! The governance queries on PostgreSQL, each inside the caller's transaction (the same
//! tables and semantics as [`super::sqlite`]). The lineage generation is one row updated by
//! every change of `images`, so its new value is visible exactly when the change is.

use std::collections::{BTreeSet, HashMap};

use strata_distribution::RepositoryName;
use strata_oci::Digest;
use tokio_postgres::Transaction;

use super::{
    current_actor, join_layers, ImageRow, PromotionRecord, RepositorySummary, StoredImage,
    TagRecord,
};
use crate::meta::sqlite::digest;
use crate::meta::{MetaError, NewManifest};

/// The schema step (appended to the PostgreSQL migrations).
pub const SCHEMA: &str = "
CREATE TABLE images (
    repo TEXT COLLATE \"C\" NOT NULL, digest TEXT COLLATE \"C\" NOT NULL, config TEXT,
    layers TEXT NOT NULL, size BIGINT NOT NULL, pushed BIGINT NOT NULL, last_pulled BIGINT,
    PRIMARY KEY (repo, digest));
CREATE INDEX images_pushed ON images (pushed);
CREATE TABLE labels (
    repo TEXT COLLATE \"C\" NOT NULL, digest TEXT COLLATE \"C\" NOT NULL,
    label TEXT COLLATE \"C\" NOT NULL, PRIMARY KEY (repo, digest, label));
CREATE TABLE owners (repo TEXT COLLATE \"C\" PRIMARY KEY, owner TEXT NOT NULL);
CREATE TABLE promotions (
    id BIGSERIAL PRIMARY KEY, repo TEXT COLLATE \"C\" NOT NULL, digest TEXT NOT NULL,
    tags TEXT NOT NULL, env TEXT NOT NULL, actor TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX promotions_repo ON promotions (repo, id);
CREATE TABLE tag_history (
    id BIGSERIAL PRIMARY KEY, repo TEXT COLLATE \"C\" NOT NULL, tag TEXT COLLATE \"C\" NOT NULL,
    digest TEXT, since BIGINT NOT NULL, actor TEXT NOT NULL);
CREATE INDEX tag_history_tag ON tag_history (repo, tag, id);
CREATE TABLE lineage_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0), generation BIGINT NOT NULL);
INSERT INTO lineage_generation (id, generation) VALUES (0, 0);
INSERT INTO images (repo, digest, config, layers, size, pushed, last_pulled)
    SELECT repo, digest, NULL, '', size, created, NULL FROM manifests
    WHERE subject IS NULL AND artifact_type IS NULL;
";

const IMAGE_COLUMNS: &str = "i.repo, i.digest, m.media_type, i.config, i.layers, i.size,
     i.pushed, i.last_pulled, m.annotations
     FROM images i JOIN manifests m ON m.repo = i.repo AND m.digest = i.digest";

fn image_row(r: &tokio_postgres::Row) -> ImageRow {
    ImageRow {
        repo: r.get(0),
        digest: r.get(1),
        media_type: r.get(2),
        config: r.get(3),
        layers: r.get(4),
        size: r.get(5),
        pushed: r.get(6),
        last_pulled: r.get(7),
        annotations: r.get(8),
    }
}

async fn bump_generation(tx: &Transaction<'_>) -> Result<(), MetaError> {
    tx.execute(
        "UPDATE lineage_generation SET generation = generation + 1 WHERE id = 0",
        &[],
    )
    .await?;
    Ok(())
}

async fn record_tag(
    tx: &Transaction<'_>,
    repo: &str,
    tag: &str,
    digest: Option<&str>,
) -> Result<(), MetaError> {
    tx.execute(
        "INSERT INTO tag_history (repo, tag, digest, since, actor) VALUES ($1, $2, $3, $4, $5)",
        &[
            &repo,
            &tag,
            &digest,
            &crate::services::now(),
            &current_actor(),
        ],
    )
    .await?;
    Ok(())
}

/// Before a manifest's rows are written (its tag's writers serialised by the caller's
/// advisory lock): the tag move goes to the history, the facts are recorded.
pub async fn before_put(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    let (repo, digest) = (m.name.as_str(), m.digest.to_string());
    let mut changed = false;
    if let Some(tag) = &m.tag {
        let current = tx
            .query_opt(
                "SELECT digest FROM tags WHERE repo = $1 AND tag = $2",
                &[&repo, &tag.as_str()],
            )
            .await?
            .map(|r| r.get::<_, String>(0));
        if current.as_deref() != Some(digest.as_str()) {
            record_tag(tx, repo, tag.as_str(), Some(&digest)).await?;
            changed = true;
        }
    }
    if let Some(facts) = &m.facts {
        let n = tx
            .execute(
                "INSERT INTO images (repo, digest, config, layers, size, pushed)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &repo,
                    &digest,
                    &facts.config.as_ref().map(Digest::to_string),
                    &join_layers(&facts.layers),
                    &(facts.size as i64),
                    &crate::services::now(),
                ],
            )
            .await?;
        changed |= n > 0;
    }
    if changed {
        bump_generation(tx).await?;
    }
    Ok(())
}

/// Before a manifest is removed (locked by the caller): its tags' deletions go to the
/// history, its facts and labels go.
pub async fn before_remove(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
) -> Result<(), MetaError> {
    let tags = tx
        .query(
            "SELECT tag FROM tags WHERE repo = $1 AND digest = $2",
            &[&repo, &digest],
        )
        .await?;
    let tagged = !tags.is_empty();
    for row in tags {
        record_tag(tx, repo, row.get(0), None).await?;
    }
    tx.execute(
        "DELETE FROM labels WHERE repo = $1 AND digest = $2",
        &[&repo, &digest],
    )
    .await?;
    let n = tx
        .execute(
            "DELETE FROM images WHERE repo = $1 AND digest = $2",
            &[&repo, &digest],
        )
        .await?;
    if n > 0 || tagged {
        bump_generation(tx).await?;
    }
    Ok(())
}

/// Before a tag is deleted: its deletion goes to the history when it exists.
pub async fn before_delete_tag(
    tx: &Transaction<'_>,
    repo: &str,
    tag: &str,
) -> Result<(), MetaError> {
    let exists = tx
        .query_opt(
            "SELECT 1 FROM tags WHERE repo = $1 AND tag = $2",
            &[&repo, &tag],
        )
        .await?
        .is_some();
    if exists {
        record_tag(tx, repo, tag, None).await?;
        bump_generation(tx).await?;
    }
    Ok(())
}

/// Images of `repo` (all when empty), newest first; `digest` narrows to one.
pub async fn images(
    tx: &Transaction<'_>,
    repo: &str,
    digest: Option<&str>,
) -> Result<Vec<StoredImage>, MetaError> {
    let sql = format!(
        "SELECT {IMAGE_COLUMNS}
         WHERE ($1 = '' OR i.repo = $1) AND ($2::text IS NULL OR i.digest = $2::text)
         ORDER BY i.pushed DESC, i.repo, i.digest"
    );
    let rows: Vec<ImageRow> = tx
        .query(&sql, &[&repo, &digest])
        .await?
        .iter()
        .map(image_row)
        .collect();
    let mut tags: HashMap<(String, String), Vec<String>> = HashMap::new();
    let sql = "SELECT repo, digest, tag FROM tags WHERE $1 = '' OR repo = $1";
    for r in tx.query(sql, &[&repo]).await? {
        tags.entry((r.get(0), r.get(1))).or_default().push(r.get(2));
    }
    let mut labels: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    let sql = "SELECT repo, digest, label FROM labels WHERE $1 = '' OR repo = $1";
    for r in tx.query(sql, &[&repo]).await? {
        labels
            .entry((r.get(0), r.get(1)))
            .or_default()
            .insert(r.get(2));
    }
    rows.into_iter()
        .map(|r| r.into_stored(&mut tags, &mut labels))
        .collect()
}

pub async fn record_pull(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    now: i64,
) -> Result<(), MetaError> {
    tx.execute(
        "UPDATE images SET last_pulled = $3 WHERE repo = $1 AND digest = $2",
        &[&repo, &digest, &now],
    )
    .await?;
    Ok(())
}

pub async fn summaries(tx: &Transaction<'_>) -> Result<Vec<RepositorySummary>, MetaError> {
    let rows = tx
        .query(
            "SELECT r.name, o.owner,
                (SELECT count(*) FROM images i WHERE i.repo = r.name),
                (SELECT count(*) FROM tags t WHERE t.repo = r.name)
             FROM repositories r LEFT JOIN owners o ON o.repo = r.name ORDER BY r.name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(RepositorySummary {
                name: r.get::<_, String>(0).parse().ok()?,
                owner: r.get(1),
                images: r.get::<_, i64>(2) as u64,
                tags: r.get::<_, i64>(3) as u64,
            })
        })
        .collect())
}

pub async fn set_owner(
    tx: &Transaction<'_>,
    repo: &str,
    owner: Option<&str>,
) -> Result<bool, MetaError> {
    let exists = tx
        .query_opt("SELECT 1 FROM repositories WHERE name = $1", &[&repo])
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    match owner {
        Some(owner) => {
            tx.execute(
                "INSERT INTO owners (repo, owner) VALUES ($1, $2)
                 ON CONFLICT (repo) DO UPDATE SET owner = EXCLUDED.owner",
                &[&repo, &owner],
            )
            .await?
        }
        None => {
            tx.execute("DELETE FROM owners WHERE repo = $1", &[&repo])
                .await?
        }
    };
    Ok(true)
}

pub async fn owner(tx: &Transaction<'_>, repo: &str) -> Result<Option<String>, MetaError> {
    Ok(tx
        .query_opt("SELECT owner FROM owners WHERE repo = $1", &[&repo])
        .await?
        .map(|r| r.get(0)))
}

/// Adds a label; false when the image is unknown (its row is read `FOR SHARE`, so a delete
/// cannot slip between the check and the insert).
pub async fn add_label(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    label: &str,
) -> Result<bool, MetaError> {
    let exists = tx
        .query_opt(
            "SELECT 1 FROM images WHERE repo = $1 AND digest = $2 FOR SHARE",
            &[&repo, &digest],
        )
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO labels (repo, digest, label) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&repo, &digest, &label],
    )
    .await?;
    Ok(true)
}

pub async fn remove_label(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    label: &str,
) -> Result<bool, MetaError> {
    let n = tx
        .execute(
            "DELETE FROM labels WHERE repo = $1 AND digest = $2 AND label = $3",
            &[&repo, &digest, &label],
        )
        .await?;
    Ok(n > 0)
}

pub async fn promote(tx: &Transaction<'_>, p: &PromotionRecord) -> Result<bool, MetaError> {
    let (repo, digest) = (p.repository.as_str(), p.digest.to_string());
    if !add_label(tx, repo, &digest, &p.env).await? {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO promotions (repo, digest, tags, env, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&repo, &digest, &p.tags.join("\n"), &p.env, &p.by, &p.at],
    )
    .await?;
    Ok(true)
}

pub async fn promotions(
    tx: &Transaction<'_>,
    name: &RepositoryName,
) -> Result<Vec<PromotionRecord>, MetaError> {
    let rows = tx
        .query(
            "SELECT digest, tags, env, actor, at FROM promotions WHERE repo = $1
             ORDER BY id DESC",
            &[&name.as_str()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let tags: String = r.get(1);
            Ok(PromotionRecord {
                repository: name.clone(),
                digest: digest(r.get(0))?,
                tags: tags
                    .split('\n')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                env: r.get(2),
                by: r.get(3),
                at: r.get(4),
            })
        })
        .collect()
}

pub async fn tag_history(
    tx: &Transaction<'_>,
    repo: &str,
    tag: &str,
) -> Result<Vec<TagRecord>, MetaError> {
    let rows = tx
        .query(
            "SELECT digest, since, actor FROM tag_history WHERE repo = $1 AND tag = $2
             ORDER BY id",
            &[&repo, &tag],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TagRecord {
                digest: r.get::<_, Option<String>>(0).map(digest).transpose()?,
                since: r.get(1),
                by: r.get(2),
            })
        })
        .collect()
}

pub async fn generation(tx: &Transaction<'_>) -> Result<i64, MetaError> {
    Ok(tx
        .query_one(
            "SELECT generation FROM lineage_generation WHERE id = 0",
            &[],
        )
        .await?
        .get(0))
}
