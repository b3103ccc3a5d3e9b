//! The validated request: what to do, with every value parsed, every file and variable the front-end
//! had to read already read (no operation reads the environment), and secrets wrapped in
//! [`crate::secret::Secret`]. Both front-ends — the CLI from clap, the Action from its `INPUT_*`
//! variables — build one [`Request`] directly; [`crate::run`] hands it to the operation, which returns
//! the matching [`Report`] for the front-end to render.
//!
//! Each operation defines the struct it takes (imports point down: the front-ends know the requests,
//! the requests know the operations' types, the operations know nothing above them); this module
//! gathers them, so a front-end needs only this vocabulary.

pub(crate) use crate::ops::blob::{
    Blob, BlobEvidence, SignBlob, SignBlobReport, VerifyBlob, VerifyBlobReport,
};
pub(crate) use crate::ops::keys::{
    GenerateKeyPair, ImportKeyPair, KeyTarget, PublicKeyReport, PublicKeyRequest,
};
pub(crate) use crate::ops::sign_image::{SignImages, SignReport};
pub(crate) use crate::ops::signer::SignedBy;
pub(crate) use crate::ops::trust::{Initialize, InitializeReport};
pub(crate) use crate::ops::upload::{UploadBlob, UploadReport};
pub(crate) use crate::ops::verify_image::{VerifyImages, VerifyReport};
pub(crate) use crate::ops::{Instance, PrivateRepository, SignWith, SignatureFormat, VerifyWith};
pub(crate) use crate::sigstore::trust::sources::TrustSettings;
pub(crate) use crate::sigstore::trust::tuf::TufSettings;

/// A validated request: one operation and its inputs.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Request {
    /// Make a key pair (files or a secret store).
    GenerateKeyPair(GenerateKeyPair),
    /// Encrypt a PEM private key into cosign's key file format.
    ImportKeyPair(ImportKeyPair),
    /// The public key of a private key.
    PublicKey(PublicKeyRequest),
    /// Sign a file.
    SignBlob(SignBlob),
    /// Verify a file.
    VerifyBlob(VerifyBlob),
    /// Sign container images.
    SignImages(SignImages),
    /// Verify container images.
    VerifyImages(VerifyImages),
    /// Push a file as an OCI artifact.
    UploadBlob(UploadBlob),
    /// Set up the TUF cache for a mirror (`initialize`).
    Initialize(Initialize),
}

/// What an operation did, for the front-end to render.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Report {
    /// `generate-key-pair` (the key files or secrets, and the public key file, are written)
    GenerateKeyPair,
    /// `import-key-pair` (the key files are written)
    ImportKeyPair,
    /// `public-key`
    PublicKey(PublicKeyReport),
    /// `sign-blob`
    SignBlob(SignBlobReport),
    /// `verify-blob`
    VerifyBlob(VerifyBlobReport),
    /// `sign`
    SignImages(SignReport),
    /// `verify`
    VerifyImages(VerifyReport),
    /// `upload blob`
    UploadBlob(UploadReport),
    /// `initialize`
    Initialize(InitializeReport),
}
