//! What steps read: the build context (walked once, with `.dockerignore` and a stat cache),
//! an image's root filesystem as a read-only merged view, source patterns resolved over
//! either ([`select`]), what `--exclude` and `--parents` keep below a source ([`filter`]), Go's
//! glob matching, and `USER`/`--chown` names from `/etc/passwd`.

pub mod context;
pub mod filter;
pub mod glob;
pub mod rootfs;
pub mod select;
pub mod users;
