//! The snapshot store: unpacked layers keyed by chain id.
//!
//! Layout under `<root>/snapshots/`:
//! ```text
//! sha256/<hex>/          one unpacked layer per chain id, whiteouts in overlay form
//! tmp/<hex>-<nonce>/     unpacks in progress (removed on open when their lock is free)
//! locks/<hex>.lock       flock per chain id, held while unpacking or removing
//! boot/<hex>             the boot a snapshot was made in (see `ensure`)
//! hints/<parent hex>     the snapshot last unpacked over a parent (see `hints`)
//! active/<id>/           read-write overlay mounts of running steps (see ActiveMount)
//! ```

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};
use strata_archive::{ApplyOptions, WhiteoutMode};
use strata_oci::Digest;
use tracing::{debug, info, warn};

use crate::error::{io_err, Error, Result};
use crate::lock;
use crate::mounter::{LinuxMounter, Mounter};

/// Opens a layer's decompressed tar stream.
pub type LayerOpener = Box<dyn FnOnce() -> io::Result<Box<dyn Read>> + Send>;

/// A layer to make present in the store.
pub struct LayerSource {
    /// Digest of the uncompressed tar; verified while unpacking.
    pub diff_id: Digest,
    /// Chain id of the layer (see [`crate::chain_id`]); names the snapshot dir.
    pub chain_id: Digest,
    /// Chain id of the layer below, if any: the unpack hard-links unchanged files from the
    /// snapshot last unpacked over the same parent (see `hints`).
    pub parent: Option<Digest>,
    /// Opens the decompressed tar; called only when the layer must be unpacked.
    pub open: LayerOpener,
}

impl std::fmt::Debug for LayerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerSource")
            .field("diff_id", &self.diff_id)
            .field("chain_id", &self.chain_id)
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

/// Unpacked layer snapshots under `<root>/snapshots/`.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    pub(crate) dir: PathBuf,
    pub(crate) mounter: Arc<dyn Mounter>,
}

impl SnapshotStore {
    /// Opens (creating) the store under `root` with the real mounter, removing
    /// leftovers of crashed processes.
    pub fn open(root: &Path) -> Result<SnapshotStore> {
        Self::with_mounter(root, Arc::new(LinuxMounter))
    }

    /// Opens the store with a given mounter (tests use the recording fake).
    pub fn with_mounter(root: &Path, mounter: Arc<dyn Mounter>) -> Result<SnapshotStore> {
        let store = SnapshotStore {
            dir: root.join("snapshots"),
            mounter,
        };
        for sub in ["sha256", "tmp", "locks", "active", "boot", "hints"] {
            let d = store.dir.join(sub);
            fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        }
        store.clean_stale_temps()?;
        store.clean_stale_active()?;
        Ok(store)
    }

    /// The `snapshots/` dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the snapshot of `chain_id` lives (whether or not it exists).
    pub fn path(&self, chain_id: &Digest) -> PathBuf {
        self.hex_dir(chain_id.hex())
    }

    /// The snapshot dir of a chain id given by its hex part.
    pub(crate) fn hex_dir(&self, hex: &str) -> PathBuf {
        self.dir.join("sha256").join(hex)
    }

    /// Whether the snapshot of `chain_id` is unpacked.
    pub fn contains(&self, chain_id: &Digest) -> bool {
        self.path(chain_id).is_dir()
    }

    /// Makes sure `layer` is unpacked and returns its dir (an overlay lowerdir).
    ///
    /// The first caller unpacks into `tmp/` under a per-chain-id flock, verifies
    /// the diff id and renames into place; concurrent callers (threads or
    /// processes) wait on the lock and then find the dir.
    ///
    /// Durability without a `syncfs` per layer: a snapshot is a cache of its blob, so
    /// instead of flushing the whole filesystem, each snapshot records the boot it was
    /// unpacked in (`boot/<chain id>`). A killed process loses nothing (the page cache
    /// survives it); after a power loss (a new boot) a snapshot whose data may never have
    /// reached the disk is not trusted and is unpacked again from its verified blob. Where
    /// the boot id cannot be read, the unpack is synced and marked durable instead.
    pub fn ensure(&self, layer: LayerSource) -> Result<PathBuf> {
        let hex = layer.chain_id.hex();
        let dest = self.hex_dir(hex);
        if self.trusted(hex, &dest) {
            return Ok(dest);
        }
        let _lock = lock::exclusive(&self.lock_path(hex))?;
        if self.trusted(hex, &dest) {
            return Ok(dest);
        }
        if dest.exists() {
            warn!(chain_id = %layer.chain_id, "snapshot from an earlier boot may be incomplete: unpacking it again");
            self.discard(hex, &dest)?;
        }
        let tmp = self.dir.join("tmp").join(format!("{hex}-{}", nonce()));
        fs::create_dir(&tmp).map_err(io_err("create", &tmp))?;
        if let Err(e) = self.fill(layer, &tmp, &dest) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok(dest)
    }

    fn fill(&self, layer: LayerSource, tmp: &Path, dest: &Path) -> Result<()> {
        let hex = layer.chain_id.hex();
        let parent = layer.parent.as_ref();
        let reuse = parent.and_then(|p| self.sibling_of(p, hex));
        info!(chain_id = %layer.chain_id, diff_id = %layer.diff_id, reuse = ?reuse, "unpacking layer");
        let reader = (layer.open)().map_err(|source| Error::OpenLayer {
            diff_id: layer.diff_id.clone(),
            source,
        })?;
        unpack_verified(reader, &layer.diff_id, tmp, reuse)?;
        self.place(hex, tmp, dest)?;
        if let Some(p) = parent {
            self.record_sibling(p, hex);
        }
        Ok(())
    }

    /// Marks a complete snapshot dir with this boot (or syncs it where the boot id is
    /// unknown) and renames it into place; the caller holds the chain id's lock.
    fn place(&self, hex: &str, dir: &Path, dest: &Path) -> Result<()> {
        let marker = match boot_id() {
            Some(id) => id.to_owned(),
            None => {
                let f = fs::File::open(dir).map_err(io_err("open", dir))?;
                rustix::fs::syncfs(&f).map_err(|e| io_err("sync", dir)(e.into()))?;
                DURABLE.to_owned()
            }
        };
        let marker_path = self.marker_path(hex);
        fs::write(&marker_path, marker).map_err(io_err("write", &marker_path))?;
        fs::rename(dir, dest).map_err(io_err("rename into place", dest))
    }

    /// Moves `dir` (an unmounted overlay upper dir whose content is exactly the layer of
    /// `chain_id` over its parents) into place as that layer's snapshot. If another build
    /// made the snapshot meanwhile, `dir` is left for its owner to remove.
    pub(crate) fn adopt(&self, chain_id: &Digest, dir: &Path) -> Result<PathBuf> {
        let hex = chain_id.hex();
        let dest = self.hex_dir(hex);
        let _lock = lock::exclusive(&self.lock_path(hex))?;
        if self.trusted(hex, &dest) {
            return Ok(dest);
        }
        if dest.exists() {
            self.discard(hex, &dest)?;
        }
        self.place(hex, dir, &dest)?;
        debug!(%chain_id, "adopted an upper dir as snapshot");
        Ok(dest)
    }

    /// Whether the snapshot dir exists and was unpacked in this boot (or synced).
    pub(crate) fn trusted(&self, hex: &str, dest: &Path) -> bool {
        if !dest.is_dir() {
            return false;
        }
        match fs::read_to_string(self.marker_path(hex)) {
            Ok(m) => m == DURABLE || Some(m.as_str()) == boot_id(),
            Err(_) => false,
        }
    }

    /// Moves an untrusted snapshot out of the way and deletes it.
    fn discard(&self, hex: &str, dest: &Path) -> Result<()> {
        let trash = self.dir.join("tmp").join(format!("{hex}-{}", nonce()));
        fs::rename(dest, &trash).map_err(io_err("remove", dest))?;
        let _ = fs::remove_file(self.marker_path(hex));
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))
    }

    fn marker_path(&self, hex: &str) -> PathBuf {
        self.dir.join("boot").join(hex)
    }

    /// Removes the snapshot of `chain_id` (callers make sure no mount uses it).
    pub fn remove(&self, chain_id: &Digest) -> Result<()> {
        let hex = chain_id.hex();
        let _lock = lock::exclusive(&self.lock_path(hex))?;
        let dest = self.hex_dir(hex);
        let trash = self.dir.join("tmp").join(format!("{hex}-{}", nonce()));
        let _ = fs::remove_file(self.marker_path(hex));
        match fs::rename(&dest, &trash) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other.map_err(io_err("remove", &dest))?,
        }
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))
    }

    fn lock_path(&self, hex: &str) -> PathBuf {
        self.dir.join("locks").join(format!("{hex}.lock"))
    }

    fn clean_stale_temps(&self) -> Result<()> {
        let tmp = self.dir.join("tmp");
        for item in fs::read_dir(&tmp).map_err(io_err("read", &tmp))? {
            let path = item.map_err(io_err("read", &tmp))?.path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let hex = name.split('-').next().unwrap_or_default();
            if let Some(_lock) = lock::try_exclusive(&self.lock_path(hex))? {
                warn!(path = %path.display(), "removing leftover unpack dir");
                fs::remove_dir_all(&path).map_err(io_err("remove", &path))?;
            }
        }
        Ok(())
    }
}

/// Applies `reader` into `dest` (overlay whiteouts, owners kept, identical files linked
/// from `reuse`), hashing every byte read, and checks the digest against `diff_id`.
fn unpack_verified(
    reader: Box<dyn Read>,
    diff_id: &Digest,
    dest: &Path,
    reuse: Option<PathBuf>,
) -> Result<()> {
    let mut hashing = HashingReader {
        inner: reader,
        hasher: Sha256::new(),
    };
    let opts = ApplyOptions {
        same_owner: true,
        whiteouts: WhiteoutMode::Overlay,
        reuse,
        ..ApplyOptions::default()
    };
    let stats =
        strata_archive::apply_layer(&mut hashing, dest, &opts).map_err(|source| Error::Unpack {
            diff_id: diff_id.clone(),
            path: dest.to_path_buf(),
            source,
        })?;
    io::copy(&mut hashing, &mut io::sink()).map_err(io_err("read layer into", dest))?;
    let actual = Digest::from_raw(hashing.hasher.finalize().into());
    debug!(%diff_id, ?stats, "layer unpacked");
    if actual != *diff_id {
        return Err(Error::DiffIdMismatch {
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok(())
}

struct HashingReader {
    inner: Box<dyn Read>,
    hasher: Sha256,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A name part unique within this host: pid, time and a counter.
/// The marker of a snapshot whose data was synced to disk.
const DURABLE: &str = "synced";

/// This boot's id (`/proc/sys/kernel/random/boot_id`), if the kernel exposes it.
fn boot_id() -> Option<&'static str> {
    static ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    })
    .as_deref()
}

pub(crate) fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{:x}-{n}", std::process::id(), nanos)
}
