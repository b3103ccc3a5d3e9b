//! Sigstore: the identity token ([`oidc`]), the certificate authority ([`fulcio`]), the transparency log
//! ([`rekor`]), bundles ([`bundle`]), trust material ([`trust`]) and verification ([`verify`]).
//!
//! Timestamps come from [`tsa`], Rekor v2 entries from [`rekor_v2`]. Which services to use and what to
//! trust come from the signing config and the trusted root ([`trust`]); the public-good Rekor's address
//! lives here only for the summary's links to its search page.

pub(crate) mod bundle;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod fulcio;
pub(crate) mod oidc;
pub(crate) mod rekor;
pub(crate) mod rekor_v2;
pub(crate) mod trust;
pub(crate) mod tsa;
pub(crate) mod verify;

/// The public-good Rekor (its entries are linked to the search page below).
pub(crate) const PUBLIC_REKOR_URL: &str = "https://rekor.sigstore.dev";
/// The search page of the public-good Rekor's entries.
pub(crate) const PUBLIC_REKOR_SEARCH_URL: &str = "https://search.sigstore.dev";
