//! Instructions that make layers: WORKDIR (when it creates the directory), COPY/ADD and RUN.

pub mod add;
pub mod copy;
pub mod mounts;
pub mod run;
pub mod ssh;
pub mod workdir;
