//! `-it`: the pseudo-terminal through runc's `--console-socket`: owned by the
//! net helper. See the crate docs for the seam.
