//! Dependency resolution (filled in below).
