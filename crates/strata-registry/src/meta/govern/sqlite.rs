//! The governance queries on SQLite, each inside the caller's transaction.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{params, OptionalExtension, Transaction};
use strata_distribution::RepositoryName;
use strata_oci::Digest;

use super::{
    current_actor, join_layers, ImageRow, PromotionRecord, RepositorySummary, StoredImage,
    TagRecord,
};
use crate::meta::sqlite::digest;
use crate::meta::{MetaError, NewManifest};

const IMAGE_COLUMNS: &str = "i.repo, i.digest, m.media_type, i.config, i.layers, i.size,
     i.pushed, i.last_pulled, m.annotations
     FROM images i JOIN manifests m ON m.repo = i.repo AND m.digest = i.digest";

fn image_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImageRow> {
    Ok(ImageRow {
        repo: r.get(0)?,
        digest: r.get(1)?,
        media_type: r.get(2)?,
        config: r.get(3)?,
        layers: r.get(4)?,
        size: r.get(5)?,
        pushed: r.get(6)?,
        last_pulled: r.get(7)?,
        annotations: r.get(8)?,
    })
}

fn bump_generation(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE lineage_generation SET generation = generation + 1 WHERE id = 0",
        [],
    )
    .map(drop)
}

fn record_tag(
    tx: &Transaction<'_>,
    repo: &str,
    tag: &str,
    digest: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO tag_history (repo, tag, digest, since, actor)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![repo, tag, digest, crate::services::now(), current_actor()],
    )
    .map(drop)
}

/// Before a manifest's rows are written: the tag move (if any) goes to the history, the
/// facts are recorded; the lineage generation moves once when either changed.
pub fn before_put(tx: &Transaction<'_>, m: &NewManifest) -> Result<(), MetaError> {
    let (repo, digest) = (m.name.as_str(), m.digest.to_string());
    let mut changed = false;
    if let Some(tag) = &m.tag {
        let current: Option<String> = tx
            .query_row(
                "SELECT digest FROM tags WHERE repo = ?1 AND tag = ?2",
                params![repo, tag.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if current.as_deref() != Some(digest.as_str()) {
            record_tag(tx, repo, tag.as_str(), Some(&digest))?;
            changed = true;
        }
    }
    if let Some(facts) = &m.facts {
        let n = tx.execute(
            "INSERT OR IGNORE INTO images (repo, digest, config, layers, size, pushed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                repo,
                digest,
                facts.config.as_ref().map(Digest::to_string),
                join_layers(&facts.layers),
                facts.size as i64,
                crate::services::now()
            ],
        )?;
        changed |= n > 0;
    }
    if changed {
        bump_generation(tx)?;
    }
    Ok(())
}

/// Before a manifest is removed: its tags' deletions go to the history, its facts and
/// labels go.
pub fn before_remove(tx: &Transaction<'_>, repo: &str, digest: &str) -> Result<(), MetaError> {
    let tags: Vec<String> = tx
        .prepare_cached("SELECT tag FROM tags WHERE repo = ?1 AND digest = ?2")?
        .query_map(params![repo, digest], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let tagged = !tags.is_empty();
    for tag in tags {
        record_tag(tx, repo, &tag, None)?;
    }
    tx.execute(
        "DELETE FROM labels WHERE repo = ?1 AND digest = ?2",
        params![repo, digest],
    )?;
    let n = tx.execute(
        "DELETE FROM images WHERE repo = ?1 AND digest = ?2",
        params![repo, digest],
    )?;
    if n > 0 || tagged {
        bump_generation(tx)?;
    }
    Ok(())
}

/// Before a tag is deleted: its deletion goes to the history when it exists.
pub fn before_delete_tag(tx: &Transaction<'_>, repo: &str, tag: &str) -> Result<(), MetaError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM tags WHERE repo = ?1 AND tag = ?2")?
        .exists(params![repo, tag])?;
    if exists {
        record_tag(tx, repo, tag, None)?;
        bump_generation(tx)?;
    }
    Ok(())
}

fn grouped<T>(
    tx: &Transaction<'_>,
    sql: &str,
    repo: &str,
    mut add: impl FnMut(&mut HashMap<(String, String), T>, (String, String), String),
) -> Result<HashMap<(String, String), T>, MetaError> {
    let mut out = HashMap::new();
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map(params![repo], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
    })?;
    for row in rows {
        let (repo, digest, value) = row?;
        add(&mut out, (repo, digest), value);
    }
    Ok(out)
}

/// Images of `repo` (all when empty), newest first; `digest` narrows to one.
pub fn images(
    tx: &Transaction<'_>,
    repo: &str,
    digest: Option<&str>,
) -> Result<Vec<StoredImage>, MetaError> {
    let sql = format!(
        "SELECT {IMAGE_COLUMNS} WHERE (?1 = '' OR i.repo = ?1) AND (?2 IS NULL OR i.digest = ?2)
         ORDER BY i.pushed DESC, i.repo, i.digest"
    );
    let rows: Vec<ImageRow> = tx
        .prepare_cached(&sql)?
        .query_map(params![repo, digest], image_row)?
        .collect::<Result<_, _>>()?;
    let mut tags = grouped(
        tx,
        "SELECT repo, digest, tag FROM tags WHERE ?1 = '' OR repo = ?1",
        repo,
        |m: &mut HashMap<_, Vec<String>>, k, v| m.entry(k).or_default().push(v),
    )?;
    let mut labels = grouped(
        tx,
        "SELECT repo, digest, label FROM labels WHERE ?1 = '' OR repo = ?1",
        repo,
        |m: &mut HashMap<_, BTreeSet<String>>, k, v| {
            m.entry(k).or_default().insert(v);
        },
    )?;
    rows.into_iter()
        .map(|r| r.into_stored(&mut tags, &mut labels))
        .collect()
}

pub fn record_pull(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    now: i64,
) -> Result<(), MetaError> {
    tx.execute(
        "UPDATE images SET last_pulled = ?3 WHERE repo = ?1 AND digest = ?2",
        params![repo, digest, now],
    )?;
    Ok(())
}

pub fn summaries(tx: &Transaction<'_>) -> Result<Vec<RepositorySummary>, MetaError> {
    let mut stmt = tx.prepare_cached(
        "SELECT r.name, o.owner,
            (SELECT count(*) FROM images i WHERE i.repo = r.name),
            (SELECT count(*) FROM tags t WHERE t.repo = r.name)
         FROM repositories r LEFT JOIN owners o ON o.repo = r.name ORDER BY r.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, owner, images, tags) = row?;
        if let Ok(name) = name.parse() {
            out.push(RepositorySummary {
                name,
                owner,
                images: images as u64,
                tags: tags as u64,
            });
        }
    }
    Ok(out)
}

pub fn set_owner(tx: &Transaction<'_>, repo: &str, owner: Option<&str>) -> Result<bool, MetaError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM repositories WHERE name = ?1")?
        .exists([repo])?;
    if !exists {
        return Ok(false);
    }
    match owner {
        Some(owner) => tx.execute(
            "INSERT INTO owners (repo, owner) VALUES (?1, ?2)
             ON CONFLICT (repo) DO UPDATE SET owner = excluded.owner",
            params![repo, owner],
        )?,
        None => tx.execute("DELETE FROM owners WHERE repo = ?1", [repo])?,
    };
    Ok(true)
}

pub fn owner(tx: &Transaction<'_>, repo: &str) -> Result<Option<String>, MetaError> {
    Ok(tx
        .query_row("SELECT owner FROM owners WHERE repo = ?1", [repo], |r| {
            r.get(0)
        })
        .optional()?)
}

fn image_exists(tx: &Transaction<'_>, repo: &str, digest: &str) -> Result<bool, MetaError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM images WHERE repo = ?1 AND digest = ?2")?
        .exists(params![repo, digest])?)
}

pub fn add_label(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    label: &str,
) -> Result<bool, MetaError> {
    if !image_exists(tx, repo, digest)? {
        return Ok(false);
    }
    tx.execute(
        "INSERT OR IGNORE INTO labels (repo, digest, label) VALUES (?1, ?2, ?3)",
        params![repo, digest, label],
    )?;
    Ok(true)
}

pub fn remove_label(
    tx: &Transaction<'_>,
    repo: &str,
    digest: &str,
    label: &str,
) -> Result<bool, MetaError> {
    let n = tx.execute(
        "DELETE FROM labels WHERE repo = ?1 AND digest = ?2 AND label = ?3",
        params![repo, digest, label],
    )?;
    Ok(n > 0)
}

pub fn promote(tx: &Transaction<'_>, p: &PromotionRecord) -> Result<bool, MetaError> {
    let (repo, digest) = (p.repository.as_str(), p.digest.to_string());
    if !add_label(tx, repo, &digest, &p.env)? {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO promotions (repo, digest, tags, env, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![repo, digest, p.tags.join("\n"), p.env, p.by, p.at],
    )?;
    Ok(true)
}

pub fn promotions(
    tx: &Transaction<'_>,
    name: &RepositoryName,
) -> Result<Vec<PromotionRecord>, MetaError> {
    let mut stmt = tx.prepare_cached(
        "SELECT digest, tags, env, actor, at FROM promotions WHERE repo = ?1
         ORDER BY id DESC",
    )?;
    let rows = stmt
        .query_map([name.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(d, tags, env, by, at)| {
            Ok(PromotionRecord {
                repository: name.clone(),
                digest: digest(d)?,
                tags: tags
                    .split('\n')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                env,
                by,
                at,
            })
        })
        .collect()
}

pub fn tag_history(
    tx: &Transaction<'_>,
    repo: &str,
    tag: &str,
) -> Result<Vec<TagRecord>, MetaError> {
    let mut stmt = tx.prepare_cached(
        "SELECT digest, since, actor FROM tag_history WHERE repo = ?1 AND tag = ?2
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map(params![repo, tag], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(d, since, by)| {
            Ok(TagRecord {
                digest: d.map(digest).transpose()?,
                since,
                by,
            })
        })
        .collect()
}

pub fn generation(tx: &Transaction<'_>) -> Result<i64, MetaError> {
    Ok(tx.query_row(
        "SELECT generation FROM lineage_generation WHERE id = 0",
        [],
        |r| r.get(0),
    )?)
}
