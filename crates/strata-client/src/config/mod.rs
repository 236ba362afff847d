//! Client configuration, read from the same files as docker, podman and skopeo.
//! Nothing here touches the network.

mod atomic;
pub mod certs;
pub mod credentials;
pub mod registries;
