//! strata-archive
