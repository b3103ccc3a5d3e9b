//! The front-ends: the only code that reads the process environment and the only code that renders
//! results. Both build the same validated [`crate::request::Request`] directly:
//!
//! - [`cli`]: cosign's verbs and flags (clap) → request;
//! - [`action`]: the Action's `INPUT_*` variables ([`inputs`]) → request, never through the CLI's
//!   structures;
//! - [`validate`]: the checks both share; [`render`]: reports as text, JSON, step outputs and the job
//!   summary.

pub mod action;
pub mod cli;
pub mod inputs;
pub mod render;
pub mod validate;

use crate::env::{self, Env};
use crate::gha::Ui;
use std::ffi::OsString;
use std::path::PathBuf;

/// True when the binary should run as the GitHub Action: `GITHUB_ACTIONS=true` and no arguments (the
/// container Action's entrypoint takes none; it reads `INPUT_*`). With any argument it is the CLI, in a
/// workflow too (e.g. `run: ferrosign verify …`).
pub fn is_action_mode(args: &[OsString], github_actions: Option<&str>) -> bool {
    args.len() <= 1 && github_actions == Some("true")
}

/// Chooses the front-end (Action or CLI) from the process's arguments and environment, runs, renders
/// any error once, and returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let env = Env::process();
    let actions = env.get(env::GITHUB_ACTIONS).as_deref() == Some("true");
    // In Actions, step outputs go to GITHUB_OUTPUT and the job summary to GITHUB_STEP_SUMMARY.
    let file = |var| env.get(var).filter(|_| actions).map(PathBuf::from);
    let mut ui = Ui::stdio(actions)
        .with_runner_files(file(env::GITHUB_OUTPUT), file(env::GITHUB_STEP_SUMMARY));
    if is_action_mode(&args, env.get(env::GITHUB_ACTIONS).as_deref()) {
        let mut ui = ui.with_wording(action::in_input_terms);
        return action::main(&env, &mut ui);
    }
    cli::main(args, &env, &mut ui)
}
