//! One file per page: each renders its [`view`](super::view) into a whole document. No
//! data is fetched here and nothing is decided: what a page gets is what it shows.

pub mod error;
pub mod image;
pub mod index;
pub mod lineage;
pub mod repository;
