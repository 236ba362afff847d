//! `strata import`: a one-layer image from a root filesystem tarball, the way teams make their
//! common base image (`docker import`).
//!
//! The tarball (plain, gzip, bzip2, xz or zstd) is read once: its bytes are hashed for the
//! diffID and recompressed into the layer blob while the tar structure is walked, so a corrupt
//! or truncated input fails before anything is recorded.

use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use strata_archive::open_decompressed;
use strata_content::{Image, Store};
use strata_dockerfile::instructions::{parse_instructions, Instruction};
use strata_oci::{media_types, Descriptor, History, ImageConfig, Reference, Sha256Writer};

use crate::error::{BuildError, ChangeError, InputError, Result};
use crate::output::export::commit_image;
use crate::state::clock::BuildClock;
use crate::state::metadata::{self, MetaState};
use crate::state::{ImageState, LayerRef};

/// Options of `strata import`.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `--change 'ENV A=b'` instructions applied to the config.
    pub changes: Vec<String>,
    /// `--message`: the history comment.
    pub message: Option<String>,
    /// The image architecture (default: this machine's).
    pub architecture: Option<String>,
    pub source_date_epoch: Option<i64>,
}

/// Instructions `docker import --change` accepts.
const CHANGEABLE: &[&str] = &[
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "label",
    "onbuild",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Imports `input` (a path, or `-` for stdin) and tags it `reference` when given.
pub fn import_rootfs(
    store: &Store,
    input: &Path,
    reference: Option<&Reference>,
    opts: &ImportOptions,
) -> Result<Image> {
    let clock = BuildClock::new(opts.source_date_epoch);
    let arch = opts
        .architecture
        .clone()
        .unwrap_or_else(|| strata_oci::config::host_architecture().to_owned());
    let mut config = ImageConfig::scratch(&arch);
    apply_changes(&mut config, &opts.changes)?;
    let layer = store_rootfs(store, input)?;
    let created = clock.now_rfc3339();
    config.created = Some(created.clone());
    config.history.push(History {
        created: Some(created),
        created_by: Some(format!("strata import {}", input.display())),
        comment: opts.message.clone(),
        ..History::default()
    });
    let mut state = ImageState {
        config,
        layers: Vec::new(),
        own: Default::default(),
    };
    state.push_layer(layer);
    let image = commit_image(store, &state, Default::default())?;
    if let Some(r) = reference {
        store.tag(r, &image.manifest_digest)?;
    }
    // Unpack now, as `docker pull` does, so the first build on this base starts warm.
    let snapshots = strata_snapshot::SnapshotStore::open(store.root())?;
    state.snapshot_dirs(store, &snapshots)?;
    Ok(image)
}

fn apply_changes(config: &mut ImageConfig, changes: &[String]) -> Result<()> {
    let mut st = MetaState::default();
    for change in changes {
        let bad = |source| BuildError::Change {
            change: change.clone(),
            source: Box::new(source),
        };
        let df = strata_dockerfile::parse(&format!("FROM scratch\n{change}\n"))
            .map_err(|e| bad(ChangeError::Parse(Box::new(e))))?;
        let (_, stages) =
            parse_instructions(&df).map_err(|e| bad(ChangeError::Parse(Box::new(e))))?;
        for cmd in stages.into_iter().flat_map(|s| s.commands) {
            let name = cmd.instruction.name();
            if !CHANGEABLE.contains(&name) {
                return Err(bad(ChangeError::NotChangeable {
                    name: name.to_uppercase(),
                    allowed: CHANGEABLE.join(", "),
                }));
            }
            match &cmd.instruction {
                Instruction::Workdir(w) => config.config.working_dir = w.clone(),
                other => {
                    metadata::apply(config, other, &mut st)
                        .map_err(|e| bad(ChangeError::Config(e)))?;
                }
            }
        }
    }
    Ok(())
}

fn bad_input(path: &Path, source: InputError) -> BuildError {
    BuildError::Input {
        path: path.to_path_buf(),
        source,
    }
}

/// Streams the tarball into a gzip layer blob, hashing the uncompressed bytes for the diffID
/// and walking the tar so that corrupt input is rejected before the blob is committed.
fn store_rootfs(store: &Store, input: &Path) -> Result<LayerRef> {
    let raw: Box<dyn Read + Send> = if input == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(input).map_err(|e| bad_input(input, InputError::Io(e)))?)
    };
    let (reader, _) = open_decompressed(BufReader::with_capacity(1 << 20, raw))
        .map_err(|e| bad_input(input, InputError::Archive(e)))?;
    let blob = store.blob_writer()?;
    let gz = flate2::write::GzEncoder::new(
        io::BufWriter::with_capacity(1 << 20, blob),
        flate2::Compression::fast(),
    );
    let mut tee = Tee {
        inner: reader,
        diff: Sha256Writer::new(gz),
    };
    walk_tar(&mut tee).map_err(|e| bad_input(input, InputError::NotTar(e)))?;
    io::copy(&mut tee, &mut io::sink()).map_err(|e| bad_input(input, InputError::Io(e)))?;
    let (diff_id, _, gz) = tee.diff.finish();
    let buf = gz.finish().map_err(BuildError::io("compressing", input))?;
    let blob = buf
        .into_inner()
        .map_err(|e| BuildError::io("writing layer of", input)(e.into_error()))?;
    // The blob writer hashes what it stores: that digest is the layer's.
    let (committed, size) = blob.commit(None)?;
    Ok(LayerRef {
        descriptor: Descriptor::new(media_types::OCI_LAYER_GZIP, committed, size),
        diff_id,
    })
}

fn walk_tar<R: Read>(r: R) -> io::Result<usize> {
    let mut ar = tar::Archive::new(r);
    let mut n = 0;
    for entry in ar.entries()? {
        let mut entry = entry?;
        entry.path()?;
        io::copy(&mut entry, &mut io::sink())?;
        n += 1;
    }
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the archive has no entries",
        ));
    }
    Ok(n)
}

/// Passes every byte read through to a writer as well.
struct Tee<R, W> {
    inner: R,
    diff: Sha256Writer<W>,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.diff.write_all(&buf[..n])?;
        Ok(n)
    }
}
