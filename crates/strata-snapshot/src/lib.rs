//! strata-snapshot
