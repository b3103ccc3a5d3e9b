//! Action mode: what the container Action runs when the runner starts it (no arguments,
//! `GITHUB_ACTIONS=true`).
//!
//! Order matters: every secret the step can see is masked first (before any other byte of output),
//! then the inputs are read into the same validated requests the CLI builds, then the requests run, and
//! the results go to the step outputs and the job summary. A failure is one `::error::` with its hint
//! and exit code 1 (2 for wrong inputs).

use crate::config::Request;
use crate::error::Error;
use crate::gha::summary::{self, FailedImage, Report, SignedImage, Signer};
use crate::gha::Ui;
use crate::image::{self, PreparedSigner};
use crate::inputs::{self, Inputs};
use crate::oci::ImageRef;
use crate::secret::SecretString;
use crate::{cli, config};
use std::path::PathBuf;

/// What can fail in the Action beyond the requests it runs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// Some images were not signed (each was reported with its own error).
    #[error("{} of {total} images were not signed: {}", failed.len(), failed.join(", "))]
    NotSigned {
        /// the images as given
        failed: Vec<String>,
        /// how many were asked for
        total: usize,
    },
}

impl ActionError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ActionError::NotSigned { .. } => Some(
                "see the error above for each image; the others were signed, and re-running signs only what is missing"
                    .into(),
            ),
        }
    }
}

/// What the inputs ask for.
#[derive(Debug)]
#[non_exhaustive]
pub enum Task {
    /// Sign (and maybe verify) the listed images.
    Sign(SignPlan),
    /// Make a key pair and store it as secrets at the target.
    Provision {
        /// `github://…` or `k8s://…`
        target: String,
    },
}

/// The signing inputs, read and checked.
#[derive(Debug)]
pub struct SignPlan {
    /// the images, as given
    pub images: Vec<String>,
    /// the `key` input; `None` = keyless
    pub key: Option<String>,
    /// annotations, defaults included (`key=value`)
    pub annotations: Vec<String>,
    /// also sign an index's platform manifests
    pub recursive: bool,
    /// upload to Rekor
    pub tlog_upload: bool,
    /// Fulcio
    pub fulcio_url: String,
    /// Rekor
    pub rekor_url: String,
    /// a trusted root file
    pub trusted_root: Option<String>,
    /// registry user
    pub registry_username: Option<String>,
    /// registry password or token
    pub registry_password: Option<SecretString>,
    /// plain HTTP / unverified TLS to registries
    pub allow_insecure_registry: bool,
    /// verify after signing
    pub verify: bool,
    /// write the job summary
    pub show_summary: bool,
    /// `GITHUB_SERVER_URL`'s host, to recognise GitHub's own container registry on GHES
    pub github_host: Option<String>,
}

/// Reads the inputs into a task; wrong inputs are usage errors naming the input.
pub fn plan(inputs: &Inputs<'_>) -> Result<Task, Error> {
    // Read every boolean first so a typo anywhere fails before anything runs.
    let verify = inputs.bool("verify")?;
    let show_summary = inputs.bool("show-summary")?;
    let recursive = inputs.bool("recursive")?;
    let tlog_upload = inputs.bool("tlog-upload")?;
    let allow_insecure_registry = inputs.bool("allow-insecure-registry")?;
    inputs.bool("default-annotations")?;
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
    let github_host = inputs.env("GITHUB_SERVER_URL").and_then(|u| {
        u.split("://")
            .nth(1)
            .map(|h| h.trim_end_matches('/').to_string())
    });
    Ok(Task::Sign(SignPlan {
        images,
        key,
        annotations: inputs::annotations(inputs)?,
        recursive,
        tlog_upload,
        fulcio_url: inputs
            .get("fulcio-url")
            .unwrap_or_else(|| summary::PUBLIC_FULCIO.into()),
        rekor_url: inputs
            .get("rekor-url")
            .unwrap_or_else(|| summary::PUBLIC_REKOR.into()),
        trusted_root: inputs.get("trusted-root"),
        registry_username: inputs.get("registry-username"),
        registry_password: inputs.get("registry-password").map(SecretString::from),
        allow_insecure_registry,
        verify,
        show_summary,
        github_host,
    }))
}

/// True for GitHub's own container registries, the only ones the job's GitHub token is meant for.
pub fn is_github_registry(registry: &str, github_host: Option<&str>) -> bool {
    registry == "ghcr.io"
        || registry.ends_with(".pkg.github.com")
        || github_host.is_some_and(|h| h != "github.com" && registry == format!("containers.{h}"))
}

/// True for a GitHub App installation token (`ghs_…`), which is what `${{ github.token }}` is.
fn is_github_job_token(password: &str) -> bool {
    password.starts_with("ghs_")
}

impl SignPlan {
    /// The CLI's registry flags for one image: the credentials go to that image's registry, except the
    /// job's GitHub token, which goes to GitHub's own registries only (it means nothing elsewhere, and
    /// sending it elsewhere would hand it to a third party).
    /// Also returns a notice when the job token was held back.
    fn registry_args(&self, image: &str) -> (cli::RegistryArgs, Option<String>) {
        let registry = image
            .parse::<ImageRef>()
            .map(|r| r.registry().to_string())
            .unwrap_or_default();
        let mut username = self.registry_username.clone();
        let mut password = self.registry_password.as_ref().map(|p| p.expose().clone());
        let mut notice = None;
        if password.as_deref().is_some_and(is_github_job_token)
            && !is_github_registry(&registry, self.github_host.as_deref())
        {
            notice = Some(format!(
                "not sending the job's GitHub token to {registry} (it is for GitHub's registry only); set registry-username and registry-password for {registry}"
            ));
            username = None;
            password = None;
        }
        if username.is_none() || password.is_none() {
            username = None;
            password = None;
        }
        let args = cli::RegistryArgs {
            allow_insecure_registry: self.allow_insecure_registry,
            allow_http_registry: false,
            registry_username: username,
            registry_password: password,
        };
        (args, notice)
    }

    /// The CLI's `sign` arguments for these images.
    fn sign_args(&self, images: Vec<String>, registry: cli::RegistryArgs) -> cli::SignArgs {
        cli::SignArgs {
            images,
            key: self.key.clone(),
            annotations: self.annotations.clone(),
            recursive: self.recursive,
            tlog_upload: self.tlog_upload,
            yes: true,
            sigstore: cli::SigstoreArgs {
                identity_token: None,
                fulcio_url: self.fulcio_url.clone(),
                rekor_url: self.rekor_url.clone(),
                trusted_root: self.trusted_root.as_ref().map(PathBuf::from),
                private_repository: cli::PrivateRepositoryArg::default(),
            },
            registry,
        }
    }

    fn hints(&self) -> summary::VerifyHints {
        summary::VerifyHints {
            rekor_url: (self.rekor_url.trim_end_matches('/') != summary::PUBLIC_REKOR)
                .then(|| self.rekor_url.clone()),
            tlog_upload: self.tlog_upload,
            trusted_root: self.trusted_root.clone(),
            allow_insecure_registry: self.allow_insecure_registry,
        }
    }
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
            let hint = e.hint().map(|h| in_input_terms(&h));
            ui.error(&in_input_terms(&e.to_string()), hint.as_deref());
            e.exit_code()
        }
    }
}

/// Messages shared with the CLI name its flags; in the Action they are inputs.
pub fn in_input_terms(text: &str) -> String {
    const FLAGS: &[(&str, &str)] = &[
        ("--tlog-upload=false", "`tlog-upload: false`"),
        ("--insecure-ignore-tlog", "`tlog-upload: false`"),
        ("--key cosign.key", "`key: env://COSIGN_PRIVATE_KEY`"),
        ("--registry-username", "`registry-username`"),
        ("--registry-password", "`registry-password`"),
        (
            "--allow-insecure-registry",
            "`allow-insecure-registry: true`",
        ),
        ("--recursive", "`recursive: true`"),
    ];
    let mut text = text.to_string();
    for (flag, input) in FLAGS {
        text = text.replace(flag, input);
    }
    text
}

fn run(inputs: &Inputs<'_>, ui: &mut Ui) -> Result<(), Error> {
    match plan(inputs)? {
        Task::Provision { target } => provision(inputs, &target, ui),
        Task::Sign(plan) => sign(&plan, ui),
    }
}

/// Signs each image in its own log group, going on past a failed image so that one bad reference does
/// not leave the others unsigned; writes the outputs and summary for what was signed, then fails if
/// anything was not.
fn sign(plan: &SignPlan, ui: &mut Ui) -> Result<(), Error> {
    // Validate every input as the CLI would, all at once, before anything is signed.
    let all = plan.sign_args(plan.images.clone(), plan.registry_args("").0);
    let Request::SignImages(checked) = config::from_cli(cli::Command::Sign(all))? else {
        return Err(Error::usage(
            "the signing inputs did not make a signing request",
            "report this as a bug",
        ));
    };
    let rt = crate::runtime()?;
    // One signer for the run: the key loaded once, or one token and one Fulcio certificate.
    let signer = rt.block_on(image::prepare(&checked, ui))?;
    let who = match (signer.public_key(), signer.certificate_identity()) {
        (_, Some((identity, issuer))) => Signer::Keyless {
            certificate_identity: identity.to_string(),
            certificate_oidc_issuer: issuer.to_string(),
        },
        (Some(public), None) => Signer::Key {
            key_fingerprint: public.fingerprint(),
        },
        (None, None) => {
            return Err(Error::usage(
                "the signer has neither a key nor a certificate",
                "report this as a bug",
            ))
        }
    };
    let mut report = Report {
        verify: plan.hints(),
        ..Report::default()
    };
    for image in &plan.images {
        ui.group(&format!("Sign {image}"));
        let result = sign_one(plan, image, &signer, &who, &rt, ui);
        match result {
            Ok(signed) => report.images.extend(signed),
            Err(e) => {
                let hint = e.hint().map(|h| in_input_terms(&h));
                ui.error(
                    &in_input_terms(&format!("{image} was not signed: {e}")),
                    hint.as_deref(),
                );
                report.failed.push(FailedImage {
                    image: image.clone(),
                    error: ui.redact(&e.to_string()),
                });
            }
        }
        ui.end_group();
    }
    publish(&report, plan.show_summary, ui)?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(ActionError::NotSigned {
            failed: report.failed.iter().map(|f| f.image.clone()).collect(),
            total: plan.images.len(),
        }
        .into())
    }
}

/// Signs one image (and with `recursive` its platform manifests), then verifies it when asked.
fn sign_one(
    plan: &SignPlan,
    image: &str,
    signer: &PreparedSigner,
    who: &Signer,
    rt: &tokio::runtime::Runtime,
    ui: &mut Ui,
) -> Result<Vec<SignedImage>, Error> {
    let (registry, notice) = plan.registry_args(image);
    if let Some(notice) = notice {
        ui.info(&notice);
    }
    let args = plan.sign_args(vec![image.to_string()], registry);
    let Request::SignImages(req) = config::from_cli(cli::Command::Sign(args))? else {
        return Err(Error::usage(
            "the signing inputs did not make a signing request",
            "report this as a bug",
        ));
    };
    let done = rt.block_on(signer.sign(&req, ui))?;
    let mut signed: Vec<SignedImage> = done
        .images
        .iter()
        .map(|s| SignedImage {
            repository: s
                .image
                .split_once('@')
                .map(|(r, _)| r.to_string())
                .unwrap_or_else(|| s.image.clone()),
            digest: s.digest.clone(),
            signature: s.signature_ref.clone(),
            signer: who.clone(),
            rekor_log_index: s.rekor_log_index,
            rekor_entry_url: s
                .rekor_log_index
                .map(|i| summary::rekor_entry_url(&plan.rekor_url, i)),
            verified: None,
        })
        .collect();
    if plan.verify {
        let result = verify_signed(
            plan,
            &signed,
            signer,
            who,
            plan.registry_args(image).0,
            rt,
            ui,
        );
        for s in signed.iter_mut() {
            s.verified = Some(result.is_ok());
        }
        result?;
    }
    Ok(signed)
}

/// `verify: true`: the CLI's `verify` on every manifest just signed, with the signed annotations: with
/// the key's public key, or with this run's certificate identity and issuer.
fn verify_signed(
    plan: &SignPlan,
    signed: &[SignedImage],
    signer: &PreparedSigner,
    who: &Signer,
    registry: cli::RegistryArgs,
    rt: &tokio::runtime::Runtime,
    ui: &mut Ui,
) -> Result<(), Error> {
    let mut keyless = cli::KeylessVerifyArgs {
        trusted_root: plan.trusted_root.as_ref().map(PathBuf::from),
        ..Default::default()
    };
    let mut key = None;
    let mut dir = None;
    match who {
        Signer::Keyless {
            certificate_identity,
            certificate_oidc_issuer,
        } => {
            keyless.certificate_identity = Some(certificate_identity.clone());
            keyless.certificate_oidc_issuer = Some(certificate_oidc_issuer.clone());
        }
        Signer::Key { .. } => {
            let Some(public) = signer.public_key() else {
                return Err(Error::usage(
                    "the key signer has no public key",
                    "report this as a bug",
                ));
            };
            let d = tempfile_dir()?;
            let path = d.join("cosign.pub");
            crate::fsutil::write_atomic(&path, public.to_pem().as_bytes()).map_err(|source| {
                Error::Io {
                    context: "cannot write",
                    path: path.clone(),
                    source,
                }
            })?;
            key = Some(path.to_string_lossy().into_owned());
            dir = Some(d);
        }
    }
    let args = cli::VerifyArgs {
        images: signed.iter().map(SignedImage::reference).collect(),
        key,
        annotations: plan.annotations.clone(),
        insecure_ignore_tlog: !plan.tlog_upload,
        keyless,
        registry,
    };
    let result = config::from_cli(cli::Command::Verify(args)).and_then(|req| match req {
        Request::VerifyImages(req) => rt.block_on(image::verify(&req, ui)).map(|_| ()),
        _ => Err(Error::usage(
            "the verify inputs did not make a verify request",
            "report this as a bug",
        )),
    });
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
    result
}

/// A fresh private directory under the temp dir (outside the workspace: the Action writes there only
/// what the user asked for).
fn tempfile_dir() -> Result<std::path::PathBuf, Error> {
    use rand_core::RngCore;
    let mut bytes = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let dir = std::env::temp_dir().join(format!("ferrosign-{}", hex::encode(bytes)));
    std::fs::create_dir(&dir).map_err(|source| Error::Io {
        context: "cannot create",
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
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
