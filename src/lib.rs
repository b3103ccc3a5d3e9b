//! ferrosign: sign container images and files so that `cosign verify` accepts them.
//!
//! # The map
//! Data flows one way, and imports point down only (`scripts/check-layers.sh` keeps it so):
//! ```text
//! front/      cli (clap, cosign's verbs and flags) and action (INPUT_* → the same request, directly);
//!             validate (shared by both); render (reports as text, JSON, step outputs, job summary)
//!   ↓
//! request     the validated Request / Report vocabulary        env: every environment variable read
//!   ↓
//! ops/        sign_image, verify_image, blob, upload, keys, provision, signer: they return reports
//!   ↓         error: the top-level error and its kind (the exit code)
//! sigstore/   oidc, fulcio, rekor, bundle, trust, verify     oci/ references, registry, auth, `.sig`
//! signing/    payload, key files and sources, P-256 keys     stores/ github, kubernetes
//!   ↓
//! net         the only network door        gha/ the only writer of output     secret, fsutil
//! ```
//! Only the front-ends read the process environment ([`env`]) and render results; everything below
//! works on the [`request::Request`] it is given and logs through [`gha::Ui`].
#![forbid(unsafe_code)]

mod env;
mod error;
pub mod front;
mod fsutil;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod gha;
mod net;
mod oci;
mod ops;
mod request;
mod secret;
mod signing;
mod sigstore;
mod stores;
#[doc(hidden)]
pub mod testing;

use error::Error;
use gha::Ui;
use request::{Report, Request};

/// Runs one validated request and returns its report.
pub(crate) async fn run(req: Request, ui: &mut Ui) -> Result<Report, Error> {
    Ok(match req {
        Request::GenerateKeyPair(r) => {
            ops::keys::generate_key_pair(&r, ui).await?;
            Report::GenerateKeyPair
        }
        Request::ImportKeyPair(r) => {
            ops::keys::import_key_pair(&r, ui)?;
            Report::ImportKeyPair
        }
        Request::PublicKey(r) => Report::PublicKey(ops::keys::public_key(&r, ui)?),
        Request::SignBlob(r) => Report::SignBlob(ops::blob::sign_blob(&r, ui).await?),
        Request::VerifyBlob(r) => Report::VerifyBlob(ops::blob::verify_blob(&r, ui).await?),
        Request::SignImages(r) => Report::SignImages(ops::sign_image::sign(&r, ui).await?),
        Request::VerifyImages(r) => Report::VerifyImages(ops::verify_image::verify(&r, ui).await?),
        Request::UploadBlob(r) => Report::UploadBlob(ops::upload::upload_blob(&r, ui).await?),
        Request::Initialize(r) => Report::Initialize(ops::trust::initialize(&r, ui).await?),
    })
}

/// Runs one request on a fresh runtime (what the CLI does).
pub(crate) fn run_blocking(req: Request, ui: &mut Ui) -> Result<Report, Error> {
    block_on(run(req, ui))
}

/// Runs one operation on a fresh runtime (the Action calls the operation it planned directly, to get
/// its report's own type).
pub(crate) fn block_on<T>(
    op: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    runtime()?.block_on(op)
}

/// The async runtime both front-ends run on.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the async runtime",
            path: "".into(),
            source: e,
        })
}
