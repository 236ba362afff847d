//! skopeo, the real peer the transfer tests read their results back with.

use std::process::Command;

use crate::{require_tool, run_ok};

/// Runs `skopeo ARGS…` (failing loudly when it is missing or fails); returns its stdout.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    require_tool("skopeo");
    run_ok(Command::new("skopeo").args(args)).stdout
}

/// The exact manifest bytes a plain-HTTP (test) registry serves for `image` (`host/repo:tag`).
pub fn raw_manifest(image: &str) -> Vec<u8> {
    skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{image}"),
    ])
}
