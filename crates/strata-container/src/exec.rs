//! `strata exec [-it]`: owned by the net helper. See the crate docs for the seam.
