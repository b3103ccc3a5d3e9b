//! Action mode: what the container Action runs when the runner starts it (no arguments,
//! `GITHUB_ACTIONS=true`).
//!
//! Order matters: every secret the step can see is masked first (before any other byte of output),
//! then the inputs are read straight into a [`Request`] (never through the CLI's structures), the request
//! runs, and the report goes to the step outputs and the job summary. A failure is one `::error::` with
//! its hint, in the Action's words (inputs, not flags), and the exit code of its kind.

use super::inputs::{self, Inputs};
use super::render::{self, VerifyHints};
use super::validate::{self, Setting, TargetEnv, Words};
use crate::env::{self, Env};
use crate::error::Error;
use crate::gha::Ui;
use crate::oci::{CredentialScope, RegistryOptions};
use crate::request::{GenerateKeyPair, Instance, KeyTarget, PrivateRepository, SignImages};
use crate::secret::SecretString;
use crate::signing::PasswordSource;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the inputs ask for.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Plan {
    /// Sign (and maybe verify) the listed images.
    Sign {
        /// the request (boxed: it is most of the plan's size)
        request: Box<SignImages>,
        /// write the job summary
        show_summary: bool,
        /// how consumers verify (for the summary's commands)
        hints: VerifyHints,
        /// warnings about the setup, shown before signing
        warnings: Vec<String>,
    },
    /// Make a key pair and store it as secrets at the target.
    Provision {
        /// the request (boxed, as the signing request is: the plans are of similar sizes)
        request: Box<GenerateKeyPair>,
        /// `github://…` or `k8s://…`, as given
        target: String,
        /// write the job summary
        show_summary: bool,
    },
}

/// Messages shared with the CLI name its flags; in the Action they are inputs. Installed as the
/// [`Ui`]'s wording in Action mode, for warnings, errors and hints.
pub(crate) fn in_input_terms(text: &str) -> String {
    const FLAGS: &[(&str, &str)] = &[
        ("--tlog-upload=false", "`tlog-upload: false`"),
        ("--insecure-ignore-tlog", "`tlog-upload: false`"),
        ("--key cosign.key", "`key: env://COSIGN_PRIVATE_KEY`"),
        // One input for both of cosign's transport flags (docs/inputs.md A8n).
        (
            "a registry that speaks plain HTTP needs --allow-http-registry, one whose TLS certificate does not verify --allow-insecure-registry",
            "a registry that speaks plain HTTP, or whose TLS certificate does not verify, needs `allow-insecure-registry: true`",
        ),
        ("--allow-http-registry", "`allow-insecure-registry: true`"),
        (
            "--allow-insecure-registry",
            "`allow-insecure-registry: true`",
        ),
        // The runner's `docker login` writes the host's ~/.docker, which the container cannot see.
        (
            "(ferrosign reads $DOCKER_CONFIG/config.json or ~/.docker/config.json)",
            "with `DOCKER_CONFIG` set to a directory in the workspace, on that step and this one (the Action's container does not see the runner's ~/.docker)",
        ),
        // TUF: the variables and `ferrosign initialize` are the CLI's; the Action has inputs for both.
        (
            "TUF_MIRROR / `ferrosign initialize --mirror`",
            "`tuf-mirror`",
        ),
        (
            "TUF_ROOT_JSON or `ferrosign initialize --root`, as `cosign initialize --root` takes it",
            "`tuf-root` (a file in the workspace)",
        ),
        (
            "--trusted-root FILE (and --signing-config FILE, or the service URLs)",
            "`trusted-root` (and `signing-config`, or `fulcio-url` and `rekor-url`)",
        ),
        ("--recursive", "`recursive: true`"),
        ("--signature-format legacy", "`signature-format: legacy`"),
        ("--signature-format bundle", "`signature-format: bundle`"),
    ];
    const SETTINGS: &[Setting] = &[
        Setting::FulcioUrl,
        Setting::RekorUrl,
        Setting::TrustedRoot,
        Setting::SigningConfig,
        Setting::TimestampServerUrl,
        Setting::RekorVersion,
        Setting::TufMirror,
        Setting::TufRoot,
        Setting::RegistryUsername,
        Setting::RegistryPassword,
    ];
    let mut text = text.to_string();
    for (flag, input) in FLAGS {
        text = text.replace(flag, input);
    }
    for s in SETTINGS {
        text = text.replace(s.flag(), &format!("`{}`", s.input()));
    }
    text
}

/// Runs the Action with `env`; returns the exit code.
pub(crate) fn main(env: &Env<'_>, ui: &mut Ui) -> i32 {
    let inputs = Inputs::new(env);
    for secret in inputs::secrets_to_mask(&inputs) {
        ui.mask(secret.expose());
    }
    match plan(env, &inputs).and_then(|p| run(p, ui)) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string(), e.hint().as_deref());
            e.exit_code()
        }
    }
}

/// Reads the inputs into a plan; wrong inputs are usage errors naming the input.
pub(crate) fn plan(env: &Env<'_>, inputs: &Inputs<'_, '_>) -> Result<Plan, Error> {
    // Read every boolean first so a typo anywhere fails before anything runs.
    let verify = inputs.bool("verify")?;
    let show_summary = inputs.bool("show-summary")?;
    let recursive = inputs.bool("recursive")?;
    let tlog_upload = inputs.bool("tlog-upload")?;
    let allow_insecure_registry = inputs.bool("allow-insecure-registry")?;
    let default_annotations = inputs.bool("default-annotations")?;
    if let Some(target) = inputs.get("generate-key-pair") {
        if !inputs.list("images").is_empty() {
            return Err(Error::usage(
                "inputs `generate-key-pair` and `images` cannot be used in the same step",
                "provision the key pair in one job (e.g. on workflow_dispatch) and sign in another",
            ));
        }
        return provision_plan(env, inputs, target, show_summary);
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
        validate::check_keyless_token_available(env)?;
    }
    let images = validate::image_refs(&images)?;
    let annotations = annotations(env, inputs, default_annotations)?;
    let url = |setting: Setting| -> Result<Option<String>, Error> {
        inputs
            .get(setting.input())
            .map(|v| validate::service_url(Words::Action, setting, &v))
            .transpose()
    };
    let rekor_url = url(Setting::RekorUrl)?;
    let instance = Instance {
        fulcio_url: url(Setting::FulcioUrl)?,
        rekor_url: rekor_url.clone(),
        rekor_version: inputs
            .get(Setting::RekorVersion.input())
            .map(|v| validate::rekor_version(Words::Action, &v))
            .transpose()?,
        tsa_url: url(Setting::TimestampServerUrl)?,
        trust: validate::trust_settings(
            Words::Action,
            inputs.get(Setting::TrustedRoot.input()).map(PathBuf::from),
            inputs
                .get(Setting::SigningConfig.input())
                .map(PathBuf::from),
            inputs.get(Setting::TufMirror.input()),
            inputs.get(Setting::TufRoot.input()).map(PathBuf::from),
            env,
        )?,
        private_repository: PrivateRepository::default(),
        private_by_event: validate::private_by_event(env)?,
    };
    let sign_with = validate::sign_with(key.as_deref(), None, env)?;
    let format = validate::signature_format(
        Words::Action,
        inputs.get("signature-format").as_deref(),
        None,
    )?;
    let hints = VerifyHints {
        rekor_url: rekor_url
            .filter(|u| u.trim_end_matches('/') != crate::sigstore::PUBLIC_REKOR_URL),
        tlog_upload,
        trusted_root: inputs.get("trusted-root"),
        allow_insecure_registry,
    };
    let (registry, warnings) = registry(env, inputs, allow_insecure_registry);
    Ok(Plan::Sign {
        request: Box::new(SignImages {
            images,
            sign_with,
            annotations,
            format,
            recursive,
            registry,
            instance,
            tlog_upload,
            verify_after: verify,
            keep_going: true,
            docker_media_types: validate::docker_media_types(env)?,
            max_workers: validate::max_workers(
                Words::Action,
                inputs.get("max-workers").as_deref(),
            )?,
        }),
        show_summary,
        hints,
        warnings,
    })
}

/// The annotations to sign: `workflow=`, `repo=`, `ref=` and `sha=` from the runner's `GITHUB_*`
/// variables (unless `default-annotations: false`), taken as they are, then the `annotations` input,
/// one `key=value` per line split at the first `=`, whose keys win.
fn annotations(
    env: &Env<'_>,
    inputs: &Inputs<'_, '_>,
    defaults: bool,
) -> Result<BTreeMap<String, String>, Error> {
    let mut result = BTreeMap::new();
    if defaults {
        for (key, var) in [
            ("workflow", env::GITHUB_WORKFLOW),
            ("repo", env::GITHUB_REPOSITORY),
            ("ref", env::GITHUB_REF),
            ("sha", env::GITHUB_SHA),
        ] {
            if let Some(v) = env.get(var) {
                result.insert(key.to_string(), v);
            }
        }
    }
    for line in inputs.list("annotations") {
        let (k, v) = validate::annotation_line(&line)?;
        result.insert(k, v);
    }
    Ok(result)
}

/// True for a GitHub App installation token (`ghs_…`), which is what `${{ github.token }}` is.
fn is_github_job_token(password: &str) -> bool {
    password.starts_with("ghs_")
}

/// Registry access from the inputs: the user name and password go together (else the docker config
/// file, see [`docker_config`]), and the job's GitHub token goes to GitHub's own registries only.
/// Also returns the warnings to show.
fn registry(
    env: &Env<'_>,
    inputs: &Inputs<'_, '_>,
    allow_insecure: bool,
) -> (RegistryOptions, Vec<String>) {
    let password = inputs.get("registry-password").map(SecretString::from);
    let username = inputs.get("registry-username");
    let (username, password) = match (username, password) {
        (Some(u), Some(p)) => (Some(u), Some(p)),
        _ => (None, None),
    };
    let scope = if password
        .as_ref()
        .is_some_and(|p| is_github_job_token(p.expose()))
    {
        CredentialScope::GitHubOnly {
            server_host: env.get(env::GITHUB_SERVER_URL).and_then(|u| {
                u.split("://")
                    .nth(1)
                    .map(|h| h.trim_end_matches('/').to_string())
            }),
        }
    } else {
        CredentialScope::Any
    };
    let (docker_config, warning) = docker_config(env);
    let options = RegistryOptions {
        // the input's documented meaning: plain HTTP or certificates that do not verify (both cosign
        // flags; docs/inputs.md A8n)
        allow_insecure,
        allow_http: allow_insecure,
        username,
        password,
        scope,
        docker_config,
    };
    (options, warning.into_iter().collect())
}

/// The docker config file as the Action's container sees it, and a warning when `DOCKER_CONFIG` names
/// a place without one.
///
/// The runner starts the container with the workspace mounted at `/github/workspace`
/// (`GITHUB_WORKSPACE`), a home of its own at `/github/home` (`HOME`), and the step's environment, in
/// which it has rewritten paths inside the workspace to `/github/workspace/…` (actions/runner,
/// `ContainerActionHandler.cs`, `ContainerInfo.TranslateToContainerPath`). The runner's own
/// `~/.docker/config.json`, where `docker login` steps write, is not mounted. So: a relative
/// `DOCKER_CONFIG` is taken from the workspace (not from the working directory), an absolute one as
/// it is, and without `DOCKER_CONFIG` `$HOME/.docker/config.json` is read.
pub(crate) fn docker_config(env: &Env<'_>) -> (Option<PathBuf>, Option<String>) {
    let Some(given) = env.get(env::DOCKER_CONFIG) else {
        return (validate::docker_config(env), None);
    };
    let dir = match env.get(env::GITHUB_WORKSPACE) {
        Some(workspace) if PathBuf::from(&given).is_relative() => {
            PathBuf::from(workspace).join(&given)
        }
        _ => PathBuf::from(&given),
    };
    let file = dir.join("config.json");
    let warning = (!file.is_file()).then(|| {
        format!(
            "DOCKER_CONFIG is `{given}`, but the Action's container has no `{}`: of the runner's files it sees only the workspace ({}) and a home of its own, so no registry credentials are read from there; put the docker config in the workspace (e.g. `DOCKER_CONFIG: ${{{{ github.workspace }}}}/.docker-login` on the job, for the login step and this one)",
            file.display(),
            env.get(env::GITHUB_WORKSPACE)
                .unwrap_or_else(|| "/github/workspace".into()),
        )
    });
    (Some(file), warning)
}

/// `generate-key-pair: github://…|k8s://…`, with the `secrets-token` input as the token (the job's own
/// token cannot write secrets).
fn provision_plan(
    env: &Env<'_>,
    inputs: &Inputs<'_, '_>,
    target: String,
    show_summary: bool,
) -> Result<Plan, Error> {
    let token = inputs.get("secrets-token").map(SecretString::from);
    if target.starts_with("github://") && token.is_none() {
        return Err(Error::usage(
            "input `secrets-token` is empty: storing Actions secrets needs a token that may write them",
            "pass a fine-grained token with \"Secrets: write\" on the repository, e.g. `secrets-token: ${{ secrets.SECRETS_ADMIN_TOKEN }}` (the job's own GITHUB_TOKEN cannot write secrets)",
        ));
    }
    let found = TargetEnv {
        github_token: token,
        ..TargetEnv::from_env(env)
    };
    let key_target = validate::key_target(Some(&target), None, None, found)?;
    if matches!(key_target, KeyTarget::Files) {
        return Err(Error::usage(
            "input `generate-key-pair` names no secret store",
            "pass github://OWNER/REPO or k8s://NAMESPACE/NAME",
        ));
    }
    let password = match validate::password(env) {
        PasswordSource::Prompt => PasswordSource::Generate,
        given => given,
    };
    Ok(Plan::Provision {
        request: Box::new(GenerateKeyPair {
            prefix: "cosign".into(),
            force: false,
            password,
            target: key_target,
            prepared: None,
        }),
        target,
        show_summary,
    })
}

/// Runs the plan and publishes what it did; images that were not signed fail the step at the end.
fn run(plan: Plan, ui: &mut Ui) -> Result<(), Error> {
    match plan {
        Plan::Provision {
            mut request,
            target,
            show_summary,
        } => {
            // Every secret is masked before any other line: the password (given or generated) and the
            // key pair are made now, masked, and handed to the operation.
            let password = request
                .password
                .get(false, ui)
                .map_err(|e| Error::key("cannot get a password for the new key", e))?;
            crate::ops::keys::mask_password(&password, ui);
            let pair = crate::ops::keys::new_key_pair(&password.bytes)?;
            ui.mask(pair.private_pem.expose());
            request.password = PasswordSource::Given(password.bytes);
            request.prepared = Some(pair);
            ui.group(&format!("Generate a key pair and store it at {target}"));
            let result = crate::block_on(crate::ops::keys::generate_key_pair(&request, ui));
            ui.end_group();
            let report = result?;
            if show_summary {
                ui.append_summary(&render::provisioned(&target, report.public_pem.trim_end()))?;
            }
            Ok(())
        }
        Plan::Sign {
            request,
            show_summary,
            hints,
            warnings,
        } => {
            for warning in &warnings {
                ui.warn(warning);
            }
            let total = request.images.len();
            let report = crate::block_on(crate::ops::sign_image::sign(&request, ui))?;
            let summary = render::SummaryReport::new(&report, &hints, ui);
            for (name, value) in render::outputs(&summary) {
                ui.set_output(name, &value)?;
            }
            if show_summary {
                ui.append_summary(&render::markdown(&summary))?;
            }
            if report.failed.is_empty() {
                Ok(())
            } else {
                Err(Error::NotSigned {
                    failed: report.failed.iter().map(|f| f.image.clone()).collect(),
                    total,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_inputs() {
        assert_eq!(
            in_input_terms("check --rekor-url and the network, or pass --tlog-upload=false"),
            "check `rekor-url` and the network, or pass `tlog-upload: false`"
        );
        assert_eq!(
            in_input_terms("pass --registry-username and --registry-password"),
            "pass `registry-username` and `registry-password`"
        );
    }

    /// Every TUF error's hint, in the Action, names its inputs: no variable, no CLI command or flag.
    #[test]
    fn tuf_hints_name_the_inputs() {
        use crate::sigstore::trust::tuf::{Anchor, TufError};
        let m = || "http://127.0.0.1:9".to_string();
        let errors = [
            TufError::Unreachable {
                mirror: m(),
                reason: "r".into(),
                cache: "c".into(),
            },
            TufError::Status {
                mirror: m(),
                url: m(),
                status: 403,
            },
            TufError::Missing {
                mirror: m(),
                detail: "d".into(),
            },
            TufError::NotListed {
                mirror: m(),
                target: "t".into(),
            },
            TufError::BadAnchor {
                anchor: Anchor::File("root.json".into()),
                reason: "r".into(),
            },
            TufError::Note {
                path: "remote.json".into(),
                reason: "r".into(),
            },
        ];
        for e in &errors {
            let cli = e.hint();
            let action = in_input_terms(&cli);
            for cli_only in ["TUF_", "initialize", "--", "FILE"] {
                assert!(!action.contains(cli_only), "{cli_only} in {action:?}");
            }
            assert!(
                ["`tuf-mirror`", "`tuf-root`"]
                    .iter()
                    .any(|i| action.contains(i)),
                "{action:?}"
            );
        }
        assert_eq!(
            in_input_terms(&errors[0].hint()),
            "check the network and the mirror URL (`tuf-mirror`), or pass `trusted-root` (and \
             `signing-config`, or `fulcio-url` and `rekor-url`) to sign and verify without TUF"
        );
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::error::Kind;
    use crate::request::SignWith;
    use std::collections::HashMap;

    const IMAGE: &str =
        "127.0.0.1:5000/app@sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn plan_of(vars: &[(&str, &str)]) -> Result<Plan, Error> {
        let mut map: HashMap<String, String> = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_WORKFLOW", "release"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_SHA", "abc"),
            ("COSIGN_PRIVATE_KEY", "PEM"),
            ("COSIGN_PASSWORD", "pw"),
            ("INPUT_IMAGES", IMAGE),
            ("INPUT_KEY", "env://COSIGN_PRIVATE_KEY"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            map.insert(k.to_string(), v.to_string());
        }
        let env = Env::new(move |k| map.get(k).cloned());
        plan(&env, &Inputs::new(&env))
    }

    fn signing(vars: &[(&str, &str)]) -> SignImages {
        match plan_of(vars) {
            Ok(Plan::Sign { request, .. }) => *request,
            other => panic!("{other:?}"),
        }
    }

    fn kind(vars: &[(&str, &str)]) -> (Kind, String) {
        match plan_of(vars) {
            Ok(p) => panic!("{vars:?} was accepted: {p:?}"),
            Err(e) => (e.kind(), e.to_string()),
        }
    }

    #[test]
    fn raw_inputs_to_requests() {
        // A workflow name with a comma, annotation values with `,` and `=`: taken as they are.
        let r = signing(&[
            ("GITHUB_WORKFLOW", "Build, test and release"),
            (
                "INPUT_ANNOTATIONS",
                "run-url=https://ci.example/run?id=42\nfilter = a=1,b=2\n# comment\nrepo=fork/app",
            ),
        ]);
        let want: Vec<(&str, &str)> = vec![
            ("filter", "a=1,b=2"),
            ("ref", "refs/heads/main"),
            ("repo", "fork/app"),
            ("run-url", "https://ci.example/run?id=42"),
            ("sha", "abc"),
            ("workflow", "Build, test and release"),
        ];
        let got: Vec<(&str, &str)> = r
            .annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
        assert!(r.keep_going);
        assert!(matches!(r.sign_with, SignWith::Key { .. }));
        let off = signing(&[
            ("INPUT_DEFAULT-ANNOTATIONS", "false"),
            ("INPUT_ANNOTATIONS", "team=platform"),
        ]);
        assert_eq!(off.annotations.len(), 1);
        // The job token goes to GitHub's registries only; another password anywhere.
        let job = signing(&[
            ("INPUT_REGISTRY-USERNAME", "octocat"),
            ("INPUT_REGISTRY-PASSWORD", "ghs_token"),
            ("GITHUB_SERVER_URL", "https://ghes.example"),
        ]);
        assert_eq!(
            job.registry.scope,
            CredentialScope::GitHubOnly {
                server_host: Some("ghes.example".into())
            }
        );
        assert_eq!(job.registry.password.unwrap().expose(), "ghs_token");
        let other = signing(&[
            ("INPUT_REGISTRY-USERNAME", "octocat"),
            ("INPUT_REGISTRY-PASSWORD", "pw"),
        ]);
        assert_eq!(other.registry.scope, CredentialScope::Any);
        let alone = signing(&[("INPUT_REGISTRY-PASSWORD", "pw")]);
        assert!(
            alone.registry.password.is_none(),
            "a password alone is dropped"
        );
        // Keyless with the token service's variables.
        let keyless = signing(&[
            ("INPUT_KEY", ""),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:1/t"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req"),
        ]);
        assert!(matches!(keyless.sign_with, SignWith::Keyless(_)));
    }

    #[test]
    fn docker_config_as_the_container_sees_it() {
        let ws = tempfile::tempdir().unwrap();
        let login = ws.path().join(".docker-login");
        std::fs::create_dir_all(&login).unwrap();
        std::fs::write(login.join("config.json"), "{}").unwrap();
        let workspace = ws.path().to_str().unwrap();
        let at = |vars: &[(&str, &str)]| {
            let map: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            docker_config(&Env::new(move |k| map.get(k).cloned()))
        };
        // Relative: from the workspace, wherever the working directory is.
        assert_eq!(
            at(&[
                ("GITHUB_WORKSPACE", workspace),
                ("DOCKER_CONFIG", ".docker-login")
            ]),
            (Some(login.join("config.json")), None)
        );
        // Absolute inside the workspace (the runner's rewrite of `${{ github.workspace }}/…`).
        assert_eq!(
            at(&[
                ("GITHUB_WORKSPACE", workspace),
                ("DOCKER_CONFIG", login.to_str().unwrap())
            ]),
            (Some(login.join("config.json")), None)
        );
        // A runner path the container does not see: read nothing from it, and say so.
        let (file, warning) = at(&[
            ("GITHUB_WORKSPACE", workspace),
            ("DOCKER_CONFIG", "/home/runner/work/_temp/docker"),
        ]);
        assert_eq!(
            file,
            Some(PathBuf::from("/home/runner/work/_temp/docker/config.json"))
        );
        let warning = warning.expect("a warning");
        assert!(
            warning.contains("DOCKER_CONFIG is `/home/runner/work/_temp/docker`")
                && warning.contains(workspace),
            "{warning}"
        );
        // Unset: the container's own home.
        assert_eq!(
            at(&[("GITHUB_WORKSPACE", workspace), ("HOME", "/github/home")]),
            (
                Some(PathBuf::from("/github/home/.docker/config.json")),
                None
            )
        );
    }

    #[test]
    fn raw_inputs_to_error_kinds() {
        let usage: &[(&[(&str, &str)], &str)] = &[
            (&[("INPUT_VERIFY", "yes")], "input `verify`"),
            (&[("INPUT_IMAGES", "# none\n")], "input `images` is empty"),
            (&[("INPUT_ANNOTATIONS", "team")], "input `annotations`"),
            (&[("INPUT_FULCIO-URL", "ftp://x")], "input `fulcio-url`"),
            (&[("INPUT_REKOR-URL", "not a url")], "input `rekor-url`"),
            (&[("INPUT_IMAGES", "UPPER/Case@@x")], "UPPER"),
            (
                &[("INPUT_GENERATE-KEY-PAIR", "github://acme/app")],
                "cannot be used in the same step",
            ),
            (
                &[
                    ("INPUT_IMAGES", ""),
                    ("INPUT_GENERATE-KEY-PAIR", "github://acme/app"),
                ],
                "input `secrets-token` is empty",
            ),
        ];
        for (vars, needle) in usage {
            let (k, text) = kind(vars);
            assert_eq!(k, Kind::Usage, "{vars:?}: {text}");
            assert!(text.contains(needle), "{vars:?}: {text}");
        }
        let input: &[(&[(&str, &str)], &str)] = &[
            (&[("INPUT_KEY", "env://UNSET")], "UNSET is not set"),
            (&[("INPUT_KEY", "")], "cannot request one"),
        ];
        for (vars, needle) in input {
            let (k, text) = kind(vars);
            assert_eq!(k, Kind::Input, "{vars:?}: {text}");
            assert!(text.contains(needle), "{vars:?}: {text}");
        }
    }
}
