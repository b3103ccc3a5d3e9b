//! One integration test binary: drives the real `ferrosign` executable against real peers on loopback.

mod sigstore_fake;
mod support;

mod action;
mod action_docs;
mod action_sign;
mod blob;
mod bundle_peers;
mod hostile_cases;
mod keyless;
mod keys;
mod registry;
mod registry_peers;
mod secrets;
mod verify;
