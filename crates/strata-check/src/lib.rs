//! strata-check: the checks of strata (issue 12). So far: [`lint`], the Dockerfile linter
//! behind `strata lint` (hadolint's DL rules, RUN shell split into commands).
//! [`secrets`]: the secret rules and the scan of every layer, config and history behind
//! `strata scan`.
//!
//! Owns: rules as data (id, severity, message, docs page) and their checks, inline ignores,
//! findings. Later: layer analysis, secret rules, SBOM catalogers (see docs/ARCHITECTURE.md).
//!
//! Must not: do I/O (the caller reads the Dockerfile and passes its text), spawn processes or
//! pull in an async runtime.

pub mod image;
pub mod lint;
pub mod secrets;
