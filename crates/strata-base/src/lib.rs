//! strata-base: base images from Debian packages.
//!
//! Owns the Debian archive side (`repo`: signed Release files, Packages indices, a verified
//! download cache), dependency resolution (`resolve`: minbase selection, Depends/Pre-Depends,
//! alternatives, Provides, version constraints, conflicts) and lock files (`lock`), and the
//! image side (`deb`: `.deb` unpacking; `dpkg`: the dpkg database; `image`: layers per
//! package group, users, the image commit; `config`: the build file). It does no registry
//! I/O and runs no container: the binary wires it to the RUN executor.

pub mod config;
pub mod deb;
pub mod dpkg;
pub mod image;
pub mod lock;
pub mod repo;
pub mod resolve;
