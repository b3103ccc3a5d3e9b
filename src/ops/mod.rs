//! The operations: each takes its part of a validated request (the structs defined here and in each
//! module, gathered by [`crate::request::Request`]) and returns a report for the front-end to render.
//! Operations log progress through [`crate::gha::Ui`] but never print results, never read the process
//! environment, and never see a CLI or Action structure.
//!
//! - [`sign_image`] / [`verify_image`]: image signatures in a registry, in cosign's two layouts (the
//!   `.sig` tag, and Sigstore bundles attached as OCI 1.1 referrers — [`SignatureFormat`]);
//! - [`blob`]: `sign-blob` / `verify-blob`; [`upload`]: `upload blob`;
//! - [`keys`]: key files and `public-key`; [`provision`]: key pairs stored in GitHub or Kubernetes;
//! - [`signer`]: the signer both signing operations share (a key, or an ephemeral key with its Fulcio
//!   certificate, and the Rekor log).

pub(crate) mod blob;
pub(crate) mod keys;
pub(crate) mod provision;
pub(crate) mod sign_image;
pub(crate) mod signer;
pub(crate) mod trust;
pub(crate) mod upload;
pub(crate) mod verify_image;

use crate::signing::{KeyRef, PasswordSource, PublicKey};
use crate::sigstore::oidc::TokenSource;
use crate::sigstore::trust::sources::TrustSettings;
use crate::sigstore::verify::KeylessPolicy;

/// Which image signature layouts a run writes (`sign`) or reads (`verify`).
///
/// - `legacy`: cosign's `.sig` tag (a simple-signing payload per layer; SPEC.md §2) — what cosign v2
///   writes, and what policy-controller and Kyverno read by default;
/// - `bundle`: a Sigstore bundle v0.3 (a DSSE in-toto statement) attached to the image as an OCI 1.1
///   referrer — what cosign v3 writes by default, and the only thing cosign v3 and v2.6.3+ read once any
///   bundle is attached (docs/cosign-bundle-layout.md §2.2);
/// - `both` (the default): both, side by side, so every verifier in use accepts the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SignatureFormat {
    /// the `.sig` tag only
    Legacy,
    /// the Sigstore bundle referrer only
    Bundle,
    /// both layouts
    #[default]
    Both,
}

impl SignatureFormat {
    /// Whether the `.sig` layout is written or read.
    pub(crate) fn legacy(self) -> bool {
        matches!(self, SignatureFormat::Legacy | SignatureFormat::Both)
    }

    /// Whether the bundle layout is written or read.
    pub(crate) fn bundle(self) -> bool {
        matches!(self, SignatureFormat::Bundle | SignatureFormat::Both)
    }

    /// `legacy`, `bundle` or `both`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SignatureFormat::Legacy => "legacy",
            SignatureFormat::Bundle => "bundle",
            SignatureFormat::Both => "both",
        }
    }
}

/// What to do when the repository is private and identity data would go to public logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum PrivateRepository {
    /// Warn and go on (the default).
    #[default]
    Warn,
    /// Refuse to sign.
    Refuse,
    /// Go on silently (the user knows).
    Allow,
}

/// The Sigstore instance to sign with: the services named by flags (the others come from the signing
/// config), and where the trusted root and the signing config come from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Instance {
    /// `--fulcio-url` (checked: http or https); `None`: the signing config's
    pub(crate) fulcio_url: Option<String>,
    /// `--rekor-url` (checked: http or https); `None`: the signing config's
    pub(crate) rekor_url: Option<String>,
    /// `--rekor-version` (1 or 2); `None`: the highest the signing config offers, or 1 for `--rekor-url`
    pub(crate) rekor_version: Option<u32>,
    /// `--timestamp-server-url` (checked); `None`: the signing config's, when one is in use
    pub(crate) tsa_url: Option<String>,
    /// where the trusted root and the signing config come from
    pub(crate) trust: TrustSettings,
    /// the private repository policy
    pub(crate) private_repository: PrivateRepository,
    /// why the run's repository is private according to the event payload (`acme/app is private`),
    /// read by the front-end from `GITHUB_EVENT_PATH`; the token's claims are checked as well
    pub(crate) private_by_event: Option<String>,
}

/// Who signs: a cosign key, or keyless (an OIDC token traded for a Fulcio certificate).
#[derive(Debug)]
pub(crate) enum SignWith {
    /// A cosign private key.
    Key {
        /// the key
        key: KeyRef,
        /// its password
        password: PasswordSource,
    },
    /// Keyless: where the identity token comes from.
    Keyless(TokenSource),
}

/// What a signature must verify with.
#[derive(Debug)]
pub(crate) enum VerifyWith {
    /// a public key to load (`--key`)
    Key(KeyRef),
    /// a public key in hand (the Action's `verify: true` after signing with a key)
    PublicKey(PublicKey),
    /// a Fulcio certificate for this identity and issuer
    Keyless(KeylessPolicy),
}
