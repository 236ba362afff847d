//! strata-oci
