//! One integration test binary: drives the real `ferrosign` executable against real peers on loopback.

mod sigstore_fake;
mod support;

mod action;
mod action_docs;
mod action_sign;
mod blob;
mod bundle_peers;
mod keyless;
mod keys;
mod registry;
mod secrets;
mod verify;
