//! The container's network (`--network private|host|none`, `-p`): owned by
//! the net helper. See the crate docs for the seam.
