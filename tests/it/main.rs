//! One integration test binary: drives the real `ferrosign` executable against real peers on loopback.

mod support;

mod blob;
mod keys;
