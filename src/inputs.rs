//! Action mode's front-end: the step's `with:` inputs, which the runner passes as `INPUT_<NAME>`
//! variables (name uppercased, dashes kept, spaces as `_`), → the same raw arguments the CLI parses →
//! [`crate::config`] → the same validated [`crate::config::Request`]s.
//!
//! Manners, as the official toolkit reads inputs: values are trimmed and an empty value means unset (the
//! default applies); lists are one item per line, blank lines and `#` comment lines skipped; booleans
//! are `true` or `false` (also `True`/`TRUE`/`False`/`FALSE`, as YAML 1.2 writes them) and anything else is
//! an error that names the input.

use crate::error::Error;
use crate::secret::SecretString;
use crate::signing::source::{ENV_PASSWORD, ENV_PRIVATE_KEY};

/// The variable the runner sets to the path of the JSON payload of the triggering event.
pub const ENV_GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// The triggering event's name (`push`, `pull_request`, `workflow_dispatch`, …).
pub const ENV_GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
/// The workflow's name; becomes the `workflow=` annotation.
pub const ENV_GITHUB_WORKFLOW: &str = "GITHUB_WORKFLOW";
/// `owner/repo`; becomes the `repo=` annotation.
pub const ENV_GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// The ref that triggered the run; becomes the `ref=` annotation.
pub const ENV_GITHUB_REF: &str = "GITHUB_REF";
/// The commit; becomes the `sha=` annotation.
pub const ENV_GITHUB_SHA: &str = "GITHUB_SHA";
/// Present only when the job has `permissions: id-token: write`.
pub const ENV_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// The bearer token for [`ENV_ID_TOKEN_REQUEST_URL`] (secret).
pub const ENV_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// An OIDC identity token given directly (secret).
pub const ENV_SIGSTORE_ID_TOKEN: &str = "SIGSTORE_ID_TOKEN";
/// A GitHub token in the environment (secret).
pub const ENV_GITHUB_TOKEN: &str = "GITHUB_TOKEN";

/// One input of `action.yml`: its name and its default exactly as `action.yml` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// kebab-case name
    pub name: &'static str,
    /// the default (`None`: no default; `${{ … }}` expressions are filled in by the runner)
    pub default: Option<&'static str>,
    /// whether the value is secret (masked before any output)
    pub secret: bool,
}

const fn input(name: &'static str, default: Option<&'static str>) -> InputSpec {
    InputSpec {
        name,
        default,
        secret: false,
    }
}

/// Every input the Action reads; `action.yml` must declare exactly these with these defaults (a test
/// checks it).
pub const INPUTS: &[InputSpec] = &[
    input("images", None),
    input("key", Some("")),
    input("annotations", Some("")),
    input("default-annotations", Some("true")),
    input("recursive", Some("false")),
    input("tlog-upload", Some("true")),
    input("fulcio-url", Some("https://fulcio.sigstore.dev")),
    input("rekor-url", Some("https://rekor.sigstore.dev")),
    input("trusted-root", Some("")),
    input("registry-username", Some("${{ github.actor }}")),
    InputSpec {
        name: "registry-password",
        default: Some("${{ github.token }}"),
        secret: true,
    },
    input("allow-insecure-registry", Some("false")),
    input("verify", Some("false")),
    input("show-summary", Some("true")),
    input("generate-key-pair", Some("")),
    InputSpec {
        name: "secrets-token",
        default: Some(""),
        secret: true,
    },
];

/// The outputs `action.yml` declares (a test checks it).
pub const OUTPUTS: &[&str] = &[
    "digests",
    "signatures",
    "rekor-log-indexes",
    "certificate-identity",
    "certificate-oidc-issuer",
    "json",
];

/// The variable that carries an input: `INPUT_` + the name uppercased, spaces as `_`, dashes kept.
pub fn var_name(input: &str) -> String {
    format!("INPUT_{}", input.replace(' ', "_").to_uppercase())
}

/// A variable lookup: the process environment, or a map in tests.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads inputs and environment through a lookup function (the process environment, or a map in tests).
pub struct Inputs<'a> {
    env: Lookup<'a>,
}

impl std::fmt::Debug for Inputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs").finish_non_exhaustive()
    }
}

impl<'a> Inputs<'a> {
    /// Inputs from the process environment.
    pub fn from_process_env() -> Inputs<'static> {
        Inputs::new(|k| std::env::var(k).ok())
    }

    /// Inputs from any lookup.
    pub fn new(env: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Inputs { env: Box::new(env) }
    }

    /// An environment variable (not an input), empty = unset.
    pub fn env(&self, var: &str) -> Option<String> {
        (self.env)(var).filter(|v| !v.is_empty())
    }

    /// An input's trimmed value; empty or absent = the literal default of `action.yml` (none for
    /// `${{ … }}` defaults, which only the runner can fill in).
    pub fn get(&self, name: &str) -> Option<String> {
        let given = (self.env)(&var_name(name))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        given.or_else(|| {
            INPUTS
                .iter()
                .find(|i| i.name == name)
                .and_then(|i| i.default)
                .filter(|d| !d.is_empty() && !d.contains("${{"))
                .map(str::to_string)
        })
    }

    /// A newline-separated list: items trimmed, blank lines and `#` comments skipped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name).map(|v| parse_list(&v)).unwrap_or_default()
    }

    /// A boolean input.
    pub fn bool(&self, name: &str) -> Result<bool, Error> {
        match self.get(name).as_deref() {
            None => Ok(false),
            Some("true" | "True" | "TRUE") => Ok(true),
            Some("false" | "False" | "FALSE") => Ok(false),
            Some(other) => Err(Error::usage(
                format!("input `{name}` must be true or false, not `{other}`"),
                format!("write `{name}: true` or `{name}: false`"),
            )),
        }
    }
}

/// Splits a newline-separated list input.
pub fn parse_list(value: &str) -> Vec<String> {
    value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Every secret value the step can see, to be masked before any other output: secret inputs, the key
/// and its password, OIDC tokens, and the text of a key file named by the `key` input. A PEM is masked
/// line by line by [`crate::gha::Ui::mask`].
pub fn secrets_to_mask(inputs: &Inputs<'_>) -> Vec<SecretString> {
    let mut found: Vec<SecretString> = Vec::new();
    for spec in INPUTS.iter().filter(|i| i.secret) {
        if let Some(v) = inputs.get(spec.name) {
            found.push(SecretString::from(v));
        }
    }
    let mut vars = vec![
        ENV_PASSWORD.to_string(),
        ENV_PRIVATE_KEY.to_string(),
        ENV_ID_TOKEN_REQUEST_TOKEN.to_string(),
        ENV_SIGSTORE_ID_TOKEN.to_string(),
        ENV_GITHUB_TOKEN.to_string(),
    ];
    if let Some(key) = inputs.get("key") {
        match key.strip_prefix("env://") {
            Some(var) => vars.push(var.to_string()),
            None if !key.contains("://") => {
                // A key file in the workspace: its text is as secret as the variable would be.
                if let Ok(text) = std::fs::read_to_string(&key) {
                    found.push(SecretString::from(text));
                }
            }
            None => {}
        }
    }
    for var in vars {
        if let Some(v) = inputs.env(&var) {
            found.push(SecretString::from(v));
        }
    }
    found
}

/// The annotations to sign: `workflow=`, `repo=`, `ref=` and `sha=` from the runner's `GITHUB_*`
/// variables (unless `default-annotations: false`), then the `annotations` input, whose keys win.
pub fn annotations(inputs: &Inputs<'_>) -> Result<Vec<String>, Error> {
    let mut result: Vec<(String, String)> = Vec::new();
    if inputs.bool("default-annotations")? {
        for (key, var) in [
            ("workflow", ENV_GITHUB_WORKFLOW),
            ("repo", ENV_GITHUB_REPOSITORY),
            ("ref", ENV_GITHUB_REF),
            ("sha", ENV_GITHUB_SHA),
        ] {
            if let Some(v) = inputs.env(var) {
                result.push((key.to_string(), v));
            }
        }
    }
    for line in inputs.list("annotations") {
        let Some((k, v)) = line.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(Error::usage(
                format!("input `annotations` has a line that is not key=value: `{line}`"),
                "write one key=value per line, e.g. `team=platform`",
            ));
        };
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        result.retain(|(existing, _)| *existing != k);
        result.push((k, v));
    }
    Ok(result
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect())
}

/// Keyless signing in Actions needs the OIDC token request variables; fails early, before any network,
/// with the reason a user can act on (missing `id-token: write`, or a pull request from a fork).
pub fn check_keyless_token_available(inputs: &Inputs<'_>) -> Result<(), Error> {
    if inputs.env(ENV_SIGSTORE_ID_TOKEN).is_some()
        || (inputs.env(ENV_ID_TOKEN_REQUEST_URL).is_some()
            && inputs.env(ENV_ID_TOKEN_REQUEST_TOKEN).is_some())
    {
        return Ok(());
    }
    if is_fork_pull_request(inputs) {
        return Err(Error::usage(
            "keyless signing needs an OIDC token, and GitHub gives none to pull requests from forks",
            "skip signing on pull requests (`if: github.event_name != 'pull_request'`), or sign after merge",
        ));
    }
    Err(Error::usage(
        "keyless signing needs an OIDC token, and this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set)",
        "add `permissions: id-token: write` to the job (or the workflow), or sign with a key: `key: env://COSIGN_PRIVATE_KEY`",
    ))
}

/// True when the triggering event is a pull request whose head lives in another repository.
pub fn is_fork_pull_request(inputs: &Inputs<'_>) -> bool {
    let Some(name) = inputs.env(ENV_GITHUB_EVENT_NAME) else {
        return false;
    };
    if !name.starts_with("pull_request") {
        return false;
    }
    let Some(event) = inputs
        .env(ENV_GITHUB_EVENT_PATH)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return false;
    };
    let head = &event["pull_request"]["head"]["repo"];
    if head["fork"].as_bool() == Some(true) {
        return true;
    }
    match (
        head["full_name"].as_str(),
        event["pull_request"]["base"]["repo"]["full_name"].as_str(),
    ) {
        (Some(h), Some(b)) => h != b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn inputs(pairs: &[(&str, &str)]) -> Inputs<'static> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Inputs::new(move |k| map.get(k).cloned())
    }

    #[test]
    fn names_values_lists_and_defaults() {
        assert_eq!(var_name("tlog-upload"), "INPUT_TLOG-UPLOAD");
        assert_eq!(var_name("my input"), "INPUT_MY_INPUT");
        let i = inputs(&[
            ("INPUT_IMAGES", "  a@sha256:1\n\n  # comment\nb:v1  \r\n"),
            ("INPUT_KEY", "   "),
            ("INPUT_REKOR-URL", ""),
        ]);
        assert_eq!(i.list("images"), vec!["a@sha256:1", "b:v1"]);
        assert_eq!(i.get("key"), None, "blank is unset");
        assert_eq!(
            i.get("rekor-url").as_deref(),
            Some("https://rekor.sigstore.dev"),
            "empty takes the default"
        );
        assert_eq!(
            i.get("registry-username"),
            None,
            "expressions are the runner's"
        );
        assert!(i.bool("tlog-upload").unwrap());
        assert!(!i.bool("recursive").unwrap());
    }

    #[test]
    fn booleans_are_strict() {
        for (v, want) in [
            ("true", true),
            ("TRUE", true),
            ("False", false),
            ("false", false),
        ] {
            assert_eq!(inputs(&[("INPUT_VERIFY", v)]).bool("verify").unwrap(), want);
        }
        for v in ["yes", "1", "on", "tru", "true false"] {
            let e = inputs(&[("INPUT_VERIFY", v)]).bool("verify").unwrap_err();
            assert!(e.to_string().contains("`verify`"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn default_annotations_and_overrides() {
        let env = [
            ("GITHUB_WORKFLOW", "release"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_REF", "refs/tags/v1"),
            ("GITHUB_SHA", "abc"),
            (
                "INPUT_ANNOTATIONS",
                "team=platform\n# x=y\nrepo = fork/app\n",
            ),
        ];
        assert_eq!(
            annotations(&inputs(&env)).unwrap(),
            vec![
                "workflow=release",
                "ref=refs/tags/v1",
                "sha=abc",
                "team=platform",
                "repo=fork/app"
            ]
        );
        let mut off = env.to_vec();
        off.push(("INPUT_DEFAULT-ANNOTATIONS", "false"));
        assert_eq!(
            annotations(&inputs(&off)).unwrap(),
            vec!["team=platform", "repo=fork/app"]
        );
        let bad = inputs(&[("INPUT_ANNOTATIONS", "novalue")]);
        assert!(annotations(&bad)
            .unwrap_err()
            .to_string()
            .contains("key=value"));
    }

    #[test]
    fn masks_secret_inputs_env_keys_and_tokens() {
        let i = inputs(&[
            ("INPUT_REGISTRY-PASSWORD", "regpw"),
            ("INPUT_SECRETS-TOKEN", "ghp_x"),
            ("INPUT_KEY", "env://MY_KEY"),
            ("MY_KEY", "-----BEGIN X-----\nAAA\n-----END X-----"),
            ("COSIGN_PASSWORD", "pw"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req"),
            ("INPUT_IMAGES", "not-secret"),
        ]);
        let got: Vec<String> = secrets_to_mask(&i)
            .iter()
            .map(|s| s.expose().clone())
            .collect();
        for want in [
            "regpw",
            "ghp_x",
            "pw",
            "req",
            "-----BEGIN X-----\nAAA\n-----END X-----",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} not masked");
        }
        assert!(!got.iter().any(|g| g == "not-secret"));
    }

    #[test]
    fn keyless_needs_a_token_and_names_the_cause() {
        let e = check_keyless_token_available(&inputs(&[])).unwrap_err();
        assert!(e.hint().unwrap().contains("id-token: write"));
        assert!(check_keyless_token_available(&inputs(&[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1/x"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"),
        ]))
        .is_ok());
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"pull_request":{"head":{"repo":{"full_name":"eve/app","fork":true}},"base":{"repo":{"full_name":"acme/app"}}}}"#,
        )
        .unwrap();
        let path = event.to_string_lossy().into_owned();
        let fork = inputs(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &path),
        ]);
        let e = check_keyless_token_available(&fork).unwrap_err();
        assert!(e.to_string().contains("forks"), "{e}");
        let push = inputs(&[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", &path)]);
        assert!(!is_fork_pull_request(&push));
    }
}
