//! HEALTHCHECK runner (interval, timeout, start period, retries) through
//! `runc exec`: owned by the net helper. See the crate docs for the seam.
