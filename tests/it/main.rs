//! One integration test binary: drives the real `ferrosign` executable against real peers on loopback.
// Test helpers fail the test by panicking, as tests do; the crate's pedantic and visibility lints
// (Cargo.toml [lints]) are for the shipped code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic,
    unreachable_pub
)]

mod sigstore_fake;
mod support;
mod tuf_peer;

mod action;
mod action_docker_config;
mod action_docs;
mod action_sign;
mod batch;
mod blob;
mod bundle;
mod bundle_peers;
mod guards;
mod hostile_cases;
mod hostile_local;
mod inputs;
mod keyless;
mod keys;
mod leaks;
mod oci_client;
mod referrers;
mod registry;
mod registry_peers;
mod secrets;
mod trust;
mod verify;
