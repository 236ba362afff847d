//! What steps read: the build context (walked once, with `.dockerignore` and a stat cache),
//! an image's root filesystem as a read-only merged view, source patterns resolved over
//! either ([`select`]), what `--exclude` and `--parents` keep below a source ([`filter`]), Go's
//! glob matching, images named by `FROM`/`--from` (looked up under the names the binary's
//! [`images::ImagePuller`] says a short name stands for, pulled through it from its
//! candidates in order when the store lacks them, by `--pull` policy), and
//! `USER`/`--chown` names from `/etc/passwd`.

pub mod context;
pub mod filter;
pub mod glob;
pub mod images;
pub mod named;
pub mod rootfs;
pub mod select;
pub mod users;
