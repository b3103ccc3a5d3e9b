//! ferrosign: sign container images and files so that `cosign verify` accepts them.
//!
//! Data flows one way: front-end ([`cli`] or the Action inputs) → [`config`] (one validated
//! [`config::Request`]) → the core ([`run`]) → [`gha`] (the only writer of output).
#![forbid(unsafe_code)]

pub mod action;
pub mod blob;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod fulcio;
pub mod gha;
pub mod http;
pub mod image;
pub mod inputs;
pub mod keyless;
pub mod keys;
pub mod oci;
pub mod oidc;
pub mod rekor;
pub mod secret;
pub mod secrets;
pub mod signing;
pub mod trust;
pub mod verify;

use clap::Parser;
use config::Request;
use error::Error;
use gha::Ui;
use std::ffi::OsString;

/// True when the binary should run as the GitHub Action: `GITHUB_ACTIONS=true` and no arguments (the
/// container Action's entrypoint takes none; it reads `INPUT_*`). With any argument it is the CLI, in a
/// workflow too (e.g. `run: ferrosign verify …`).
pub fn is_action_mode(args: &[OsString], github_actions: Option<&str>) -> bool {
    args.len() <= 1 && github_actions == Some("true")
}

/// Chooses the front-end (Action or CLI), runs, renders any error once, and returns the exit code.
pub fn main_entry(args: Vec<OsString>, ui: &mut Ui) -> i32 {
    let github_actions = std::env::var(gha::ENV_GITHUB_ACTIONS).ok();
    if is_action_mode(&args, github_actions.as_deref()) {
        return action::main(ui);
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            if e.use_stderr() {
                ui.info(text.trim_end());
            } else {
                ui.data(text.trim_end());
            }
            return code;
        }
    };
    let result = config::from_cli(cli.command).and_then(|req| run_blocking(req, ui));
    match result {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string(), e.hint().as_deref());
            e.exit_code()
        }
    }
}

pub(crate) fn run_blocking(req: Request, ui: &mut Ui) -> Result<(), Error> {
    runtime()?.block_on(run(req, ui))
}

/// The async runtime both front-ends run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
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

/// Runs one validated request.
pub async fn run(req: Request, ui: &mut Ui) -> Result<(), Error> {
    match req {
        Request::GenerateKeyPair(r) => secrets::generate_key_pair(&r, ui).await,
        Request::PublicKey(r) => keys::public_key(&r, ui),
        Request::SignBlob(r) => blob::sign_blob(&r, ui).await,
        Request::VerifyBlob(r) => blob::verify_blob(&r, ui),
        Request::SignImages(r) => image::sign(&r, ui).await.map(|_| ()),
        Request::VerifyImages(r) => image::verify(&r, ui).await.map(|_| ()),
        Request::UploadBlob(r) => image::upload_blob(&r, ui).await.map(|_| ()),
    }
}
