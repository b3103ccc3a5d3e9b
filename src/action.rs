//! Action mode: what the container Action runs when the runner starts it (no arguments,
//! `GITHUB_ACTIONS=true`).
//!
//! Order matters: every secret the step can see is masked first (before any other byte of output),
//! then the inputs are read into the same validated requests the CLI builds, then the requests run, and
//! the results go to the step outputs and the job summary. A failure is one `::error::` with its hint
//! and exit code 1 (2 for wrong inputs).

use crate::error::Error;
use crate::gha::summary::{self, Report};
use crate::gha::Ui;
use crate::inputs::{self, Inputs};
use crate::{cli, config};

/// What the inputs ask for.
#[derive(Debug)]
#[non_exhaustive]
pub enum Task {
    /// Sign (and maybe verify) the listed images.
    Sign {
        /// the images, as given
        images: Vec<String>,
        /// the `key` input; `None` = keyless
        key: Option<String>,
        /// annotations, defaults included
        annotations: Vec<String>,
        /// verify after signing
        verify: bool,
        /// write the job summary
        show_summary: bool,
    },
    /// Make a key pair and store it as secrets at the target.
    Provision {
        /// `github://…` or `k8s://…`
        target: String,
    },
}

/// Reads the inputs into a task; wrong inputs are usage errors naming the input.
pub fn plan(inputs: &Inputs<'_>) -> Result<Task, Error> {
    // Read every boolean first so a typo anywhere fails before anything runs.
    let verify = inputs.bool("verify")?;
    let show_summary = inputs.bool("show-summary")?;
    for name in [
        "recursive",
        "tlog-upload",
        "allow-insecure-registry",
        "default-annotations",
    ] {
        inputs.bool(name)?;
    }
    if let Some(target) = inputs.get("generate-key-pair") {
        if !inputs.list("images").is_empty() {
            return Err(Error::usage(
                "inputs `generate-key-pair` and `images` cannot be used in the same step",
                "provision the key pair in one job (e.g. on workflow_dispatch) and sign in another",
            ));
        }
        return Ok(Task::Provision { target });
    }
    let images = inputs.list("images");
    if images.is_empty() {
        return Err(Error::usage(
            "input `images` is empty: there is nothing to sign",
            "list the images to sign, one per line, e.g. `images: ghcr.io/acme/app@${{ steps.build.outputs.digest }}`",
        ));
    }
    let key = inputs.get("key");
    if key.is_none() {
        inputs::check_keyless_token_available(inputs)?;
    }
    Ok(Task::Sign {
        images,
        key,
        annotations: inputs::annotations(inputs)?,
        verify,
        show_summary,
    })
}

/// Runs the Action with the process environment; returns the exit code.
pub fn main(ui: &mut Ui) -> i32 {
    let inputs = Inputs::from_process_env();
    for secret in inputs::secrets_to_mask(&inputs) {
        ui.mask(secret.expose());
    }
    match run(&inputs, ui) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string(), e.hint().as_deref());
            e.exit_code()
        }
    }
}

fn run(inputs: &Inputs<'_>, ui: &mut Ui) -> Result<(), Error> {
    match plan(inputs)? {
        Task::Provision { target } => provision(inputs, &target, ui),
        Task::Sign { .. } => Err(Error::NotAvailable {
            message: "signing container images is not available in this build yet".into(),
            hint: "sign files with `ferrosign sign-blob` meanwhile".into(),
        }),
    }
}

/// `generate-key-pair: github://…|k8s://…`: the CLI's `generate-key-pair TARGET`, with the
/// `secrets-token` input as the token (the job's own token cannot write secrets).
fn provision(inputs: &Inputs<'_>, target: &str, ui: &mut Ui) -> Result<(), Error> {
    let token = inputs.get("secrets-token");
    if target.starts_with("github://") && token.is_none() {
        return Err(Error::usage(
            "input `secrets-token` is empty: storing Actions secrets needs a token that may write them",
            "pass a fine-grained token with \"Secrets: write\" on the repository, e.g. `secrets-token: ${{ secrets.SECRETS_ADMIN_TOKEN }}` (the job's own GITHUB_TOKEN cannot write secrets)",
        ));
    }
    let args = cli::GenerateKeyPairArgs {
        target: Some(target.to_string()),
        github_environment: None,
        github_visibility: None,
        output_key_prefix: "cosign".into(),
        force: false,
    };
    let req = config::generate_key_pair(args, |name| {
        if name == config::ENV_GITHUB_TOKEN {
            token.clone()
        } else {
            inputs.env(name)
        }
    })?;
    ui.group(&format!("Generate a key pair and store it at {target}"));
    let result = crate::run_blocking(req, ui);
    ui.end_group();
    result?;
    if inputs.bool("show-summary")? {
        let public = std::fs::read_to_string("cosign.pub").unwrap_or_default();
        ui.append_summary(&summary::render_provisioned(target, public.trim_end()))?;
    }
    Ok(())
}

/// Writes the step outputs and (unless turned off) the job summary of a signing run.
pub fn publish(report: &Report, show_summary: bool, ui: &mut Ui) -> Result<(), Error> {
    for (name, value) in summary::outputs(report) {
        ui.set_output(name, &value)?;
    }
    if show_summary {
        ui.append_summary(&summary::render_markdown(report))?;
    }
    Ok(())
}
