//! The validated request: what to do, with every value parsed, every file and variable the front-end
//! had to read already read (no operation reads the environment), and secrets wrapped in
//! [`crate::secret::Secret`]. Both front-ends — the CLI from clap, the Action from its `INPUT_*`
//! variables — build one [`Request`] directly; [`crate::run`] hands it to the operation, which returns
//! the matching [`Report`] for the front-end to render.
//!
//! Each operation defines the struct it takes (imports point down: the front-ends know the requests,
//! the requests know the operations' types, the operations know nothing above them); this module
//! gathers them, so a front-end needs only this vocabulary.

pub use crate::ops::blob::{BlobEvidence, SignBlob, SignBlobReport, VerifyBlob, VerifyBlobReport};
pub use crate::ops::keys::{
    GenerateKeyPair, KeyPairReport, KeyTarget, PublicKeyReport, PublicKeyRequest,
};
pub use crate::ops::sign_image::{FailedImage, SignImages, SignReport, SignedManifest};
pub use crate::ops::signer::SignedBy;
pub use crate::ops::upload::{UploadBlob, UploadReport};
pub use crate::ops::verify_image::{VerifiedImage, VerifyImages, VerifyReport};
pub use crate::ops::{Instance, PrivateRepository, SignWith, VerifyWith};

/// A validated request: one operation and its inputs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// Make a key pair (files or a secret store).
    GenerateKeyPair(GenerateKeyPair),
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
}

/// What an operation did, for the front-end to render.
#[derive(Debug)]
#[non_exhaustive]
pub enum Report {
    /// `generate-key-pair`
    GenerateKeyPair(KeyPairReport),
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
}
