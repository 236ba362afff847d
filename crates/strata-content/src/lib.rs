//! strata-content
