//! Sigstore: the identity token ([`oidc`]), the certificate authority ([`fulcio`]), the transparency log
//! ([`rekor`]), bundles ([`bundle`]), trust material ([`trust`]) and verification ([`verify`]).
//!
//! The public-good instance's addresses live here, once: the defaults of `--fulcio-url` /
//! `--rekor-url`, of the Action inputs, and the summary's links.

pub(crate) mod bundle;
pub(crate) mod fulcio;
pub(crate) mod oidc;
pub(crate) mod rekor;
pub(crate) mod trust;
pub(crate) mod verify;

/// The public-good Fulcio: the default certificate authority.
pub(crate) const PUBLIC_FULCIO_URL: &str = "https://fulcio.sigstore.dev";
/// The public-good Rekor: the default transparency log.
pub(crate) const PUBLIC_REKOR_URL: &str = "https://rekor.sigstore.dev";
/// The search page of the public-good Rekor's entries.
pub(crate) const PUBLIC_REKOR_SEARCH_URL: &str = "https://search.sigstore.dev";
