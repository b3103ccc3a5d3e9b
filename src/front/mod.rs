//! The front-ends: the only code that reads the process environment and the only code that renders
//! results. Both build the same validated [`crate::request::Request`] directly:
//!
//! - [`cli`]: cosign's verbs and flags (clap) → request;
//! - [`action`]: the Action's `INPUT_*` variables ([`inputs`]) → request, never through the CLI's
//!   structures;
//! - [`validate`]: the checks both share; [`render`]: reports as text, JSON, step outputs and the job
//!   summary.

pub(crate) mod action;
pub(crate) mod cli;
pub mod inputs;
pub mod render;
pub(crate) mod validate;

use crate::env::{self, Env};
use crate::gha::Ui;
use std::ffi::OsString;
use std::path::PathBuf;

/// True when the binary should run as the GitHub Action: `GITHUB_ACTIONS=true` and no arguments (the
/// container Action's entrypoint takes none; it reads `INPUT_*`). With any argument it is the CLI, in a
/// workflow too (e.g. `run: ferrosign verify …`).
pub(crate) fn is_action_mode(args: &[OsString], github_actions: Option<&str>) -> bool {
    args.len() <= 1 && github_actions == Some("true")
}

/// Chooses the front-end (Action or CLI) from the process's arguments and environment, runs, renders
/// any error once, and returns the exit code.
pub fn main(args: &[OsString]) -> i32 {
    let env = Env::process();
    let actions = env.get(env::GITHUB_ACTIONS).as_deref() == Some("true");
    // In Actions, step outputs go to GITHUB_OUTPUT and the job summary to GITHUB_STEP_SUMMARY.
    let file = |var| env.get(var).filter(|_| actions).map(PathBuf::from);
    let mut ui = Ui::stdio(actions)
        .with_runner_files(file(env::GITHUB_OUTPUT), file(env::GITHUB_STEP_SUMMARY));
    if is_action_mode(args, env.get(env::GITHUB_ACTIONS).as_deref()) {
        let mut ui = ui.with_wording(action::in_input_terms);
        return action::main(&env, &mut ui);
    }
    cli::main(args, &env, &mut ui)
}

#[cfg(test)]
mod tests {
    use super::validate::{self, Setting, Words};
    use crate::error::Error;
    use crate::oci::OciError;
    use crate::signing::KeyError;
    use crate::sigstore::rekor::RekorError;
    use crate::stores::StoreError;

    /// The error texts users read (CLI words, then the Action's), one `error:` and one `hint:` line each.
    #[test]
    fn error_texts() {
        let port = 39097;
        let digest = format!("sha256:{}", "ab".repeat(32));
        // Each error as the front-ends that can meet it show it.
        let (cli, action, both) = (&["cli"][..], &["action"][..], &["cli", "action"][..]);
        let errors: Vec<(&[&str], Error)> = vec![
            (
                cli,
                validate::service_url(Words::Cli, Setting::FulcioUrl, "ftp://x").unwrap_err(),
            ),
            (
                action,
                validate::service_url(Words::Action, Setting::FulcioUrl, "ftp://x").unwrap_err(),
            ),
            (
                both,
                validate::image_refs(&[format!("127.0.0.1:{port}/acme/Keep@{digest}")])
                    .unwrap_err(),
            ),
            (
                cli,
                validate::cli_annotations(&["workflow=Build, test".to_string()]).unwrap_err(),
            ),
            (action, validate::annotation_line("team").unwrap_err()),
            (
                both,
                Error::Oci(OciError::Unreachable {
                    registry: format!("127.0.0.1:{port}"),
                    reason: "connection refused".into(),
                    https: true,
                }),
            ),
            (
                both,
                Error::Rekor(RekorError::Refused {
                    url: format!("http://127.0.0.1:{port}"),
                    status: 400,
                    message: "bad entry".into(),
                }),
            ),
            (
                both,
                Error::key(
                    "cannot load the private key from env://COSIGN_PRIVATE_KEY",
                    KeyError::WrongPassword,
                ),
            ),
            (cli, Error::Store(StoreError::NoToken)),
            (
                action,
                Error::NotSigned {
                    failed: vec![format!("127.0.0.1:{port}/acme/app@{digest}")],
                    total: 2,
                },
            ),
        ];
        let mut text = String::new();
        for (fronts, e) in &errors {
            let hint = e.hint().unwrap_or_default();
            for front in *fronts {
                let render = |t: &str| {
                    if *front == "action" {
                        super::action::in_input_terms(t)
                    } else {
                        t.to_string()
                    }
                };
                text.push_str(&format!(
                    "[{front}, exit {}]\nerror: {}\nhint: {}\n",
                    e.exit_code(),
                    render(&e.to_string()),
                    render(&hint)
                ));
            }
        }
        insta::with_settings!({filters => vec![
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        ]}, {
            insta::assert_snapshot!(text);
        });
    }
}
