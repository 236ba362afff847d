//! strata-check: the checks of strata (issue 12): [`lint`], the Dockerfile linter
//! behind `strata lint` (hadolint's DL rules, BuildKit's build checks, practice rules, RUN
//! shell split into commands); [`image`], an image's layers streamed to visitors;
//! [`analyze`], wasted bytes and dive's CI rules behind `strata analyze`; [`secrets`], the
//! secret rules and the scan of every layer, config and history behind `strata scan`;
//! [`sbom`], the packages of an image (dpkg, apk, Python, npm, Go, Rust) as SPDX or
//! CycloneDX.
//!
//! Owns: rules as data (id, severity, message, docs page) and their checks, inline ignores,
//! findings; layer analysis, secret rules, SBOM catalogers (see docs/ARCHITECTURE.md).
//!
//! Must not: do I/O (the caller reads the Dockerfile and passes its text), spawn processes or
//! pull in an async runtime. (The image checks read blobs through `BlobSource`; [`sbom`] spools
//! ELF binaries to unnamed temporary files, one at a time, to read their sections.)

pub mod analyze;
pub mod image;
pub mod lint;
pub mod sbom;
pub mod secrets;
