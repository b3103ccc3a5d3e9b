//! The Action's inputs: the step's `with:` values, which the runner passes as `INPUT_<NAME>` variables
//! (name uppercased, dashes kept, spaces as `_`), read through [`Env`]; [`super::action`] turns them
//! into the request directly.
//!
//! Manners, as the official toolkit reads inputs: values are trimmed and an empty value means unset (the
//! default applies); lists are one item per line, blank lines and `#` comment lines skipped; booleans
//! are `true` or `false` (also `True`/`TRUE`/`False`/`FALSE`, as YAML 1.2 writes them) and anything else is
//! an error that names the input.

use crate::env::{self, input_var, Env};
use crate::error::Error;
use crate::secret::SecretString;

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
    input("signature-format", Some("both")),
    input("max-workers", Some("16")),
    input("tlog-upload", Some("true")),
    input("fulcio-url", Some("")),
    input("rekor-url", Some("")),
    input("rekor-version", Some("")),
    input("timestamp-server-url", Some("")),
    input("trusted-root", Some("")),
    input("signing-config", Some("")),
    input("tuf-mirror", Some("")),
    input("tuf-root", Some("")),
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
    "signature-formats",
    "signatures",
    "bundles",
    "rekor-log-indexes",
    "bundle-rekor-log-indexes",
    "certificate-identity",
    "certificate-oidc-issuer",
    "json",
];

/// Reads the Action's inputs (and, for masking, the environment) through an [`Env`].
pub(crate) struct Inputs<'e, 'a> {
    env: &'e Env<'a>,
}

impl std::fmt::Debug for Inputs<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs").finish_non_exhaustive()
    }
}

impl<'e, 'a> Inputs<'e, 'a> {
    /// The inputs in `env`.
    pub(crate) fn new(env: &'e Env<'a>) -> Self {
        Inputs { env }
    }

    /// An input's trimmed value; empty or absent = the literal default of `action.yml` (none for
    /// `${{ … }}` defaults, which only the runner can fill in).
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let given = self
            .env
            .named(&input_var(name))
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
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.get(name).map(|v| parse_list(&v)).unwrap_or_default()
    }

    /// A boolean input.
    pub(crate) fn bool(&self, name: &str) -> Result<bool, Error> {
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
pub(crate) fn parse_list(value: &str) -> Vec<String> {
    value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Every secret value the step can see, to be masked before any other output: secret inputs, every
/// secret variable of [`env::ALL`] (key, password, tokens), the variable an `env://VAR` key names, the
/// text of a key file named by the `key` input (or the key itself where a reference belongs), the
/// credentials of URLs in any input, the passwords of the docker config the registry client will
/// read, and (for `generate-key-pair: k8s://…`) the kubeconfig's token or client key. A PEM is masked
/// line by line by [`crate::gha::Ui::mask`].
pub(crate) fn secrets_to_mask(inputs: &Inputs<'_, '_>) -> Vec<SecretString> {
    let mut found: Vec<SecretString> = Vec::new();
    for spec in INPUTS {
        if let Some(v) = inputs.get(spec.name) {
            found.extend(url_credentials(&v));
        }
    }
    // the file the registry client will read, found as the Action finds it
    if let (Some(path), _) = super::action::docker_config(inputs.env) {
        found.extend(docker_config_secrets(&path));
    }
    if inputs
        .get("generate-key-pair")
        .is_some_and(|t| t.starts_with("k8s://"))
    {
        let lookup = super::validate::TargetEnv::from_env(inputs.env).cluster;
        found.extend(crate::stores::kubernetes::credential_secrets(
            &lookup,
            std::path::Path::new(crate::stores::kubernetes::SERVICE_ACCOUNT_DIR),
        ));
    }
    for spec in INPUTS.iter().filter(|i| i.secret) {
        if let Some(v) = inputs.get(spec.name) {
            found.push(SecretString::from(v));
        }
    }
    for var in env::ALL.iter().filter(|v| v.secret) {
        if let Some(v) = inputs.env.get(*var) {
            found.push(SecretString::from(v));
        }
    }
    if let Some(key) = inputs.get("key") {
        match key.strip_prefix("env://") {
            // the key itself where a reference belongs: as secret as the variable would be
            _ if crate::signing::source::is_key_text(&key) => found.push(SecretString::from(key)),
            Some(var) => {
                if let Some(v) = inputs.env.named(var).filter(|v| !v.is_empty()) {
                    found.push(SecretString::from(v));
                }
            }
            None if !key.contains("://") => {
                // A key file in the workspace: its text is as secret as the variable would be.
                if let Ok(text) = crate::fsutil::read_limited_string(
                    std::path::Path::new(&key),
                    crate::fsutil::KEY_FILE,
                ) {
                    found.push(SecretString::from(text));
                }
            }
            None => {}
        }
    }
    found
}

/// The credentials of every URL in `text` (`scheme://USER:PASSWORD@host`): the whole `USER:PASSWORD`
/// and the password alone.
fn url_credentials(text: &str) -> Vec<SecretString> {
    let mut found = Vec::new();
    for part in text.split("://").skip(1) {
        let authority = part
            .split(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .next()
            .unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            found.push(SecretString::from(userinfo.to_string()));
            if let Some((_, password)) = userinfo.split_once(':') {
                found.push(SecretString::from(password.to_string()));
            }
        }
    }
    found
}

/// The secrets of a docker config file (`auths.*`: `auth` as written and its decoded password,
/// `password`, `identitytoken`, `registrytoken`); nothing when it cannot be read (the registry client
/// reports that).
fn docker_config_secrets(path: &std::path::Path) -> Vec<SecretString> {
    use base64::Engine;
    let Ok(bytes) = crate::fsutil::read_limited(path, crate::fsutil::DOCKER_CONFIG_FILE) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in json["auths"]
        .as_object()
        .into_iter()
        .flat_map(|a| a.values())
    {
        for field in ["auth", "password", "identitytoken", "registrytoken"] {
            if let Some(v) = entry[field].as_str().filter(|v| !v.is_empty()) {
                found.push(SecretString::from(v.to_string()));
            }
        }
        let decoded = entry["auth"]
            .as_str()
            .and_then(|a| {
                base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((_, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            found.push(SecretString::from(password.to_string()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(crate) fn env(pairs: &[(&str, &str)]) -> Env<'static> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |k| map.get(k).cloned())
    }

    #[test]
    fn values_lists_and_defaults() {
        let e = env(&[
            ("INPUT_IMAGES", "  a@sha256:1\n\n  # comment\nb:v1  \r\n"),
            ("INPUT_KEY", "   "),
            ("INPUT_RECURSIVE", ""),
            ("INPUT_REKOR-URL", ""),
        ]);
        let i = Inputs::new(&e);
        assert_eq!(i.list("images"), vec!["a@sha256:1", "b:v1"]);
        assert_eq!(i.get("key"), None, "blank is unset");
        assert_eq!(
            i.get("recursive").as_deref(),
            Some("false"),
            "empty takes the default"
        );
        assert_eq!(
            i.get("rekor-url"),
            None,
            "an empty default is unset: the signing config decides"
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
            let e = env(&[("INPUT_VERIFY", v)]);
            assert_eq!(Inputs::new(&e).bool("verify").unwrap(), want);
        }
        for v in ["yes", "1", "on", "tru", "true false"] {
            let e = env(&[("INPUT_VERIFY", v)]);
            let err = Inputs::new(&e).bool("verify").unwrap_err();
            assert!(err.to_string().contains("`verify`"), "{err}");
            assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn masks_secret_inputs_env_keys_and_tokens() {
        let e = env(&[
            ("INPUT_REGISTRY-PASSWORD", "regpw"),
            ("INPUT_SECRETS-TOKEN", "ghp_x"),
            ("INPUT_KEY", "env://MY_KEY"),
            ("MY_KEY", "-----BEGIN X-----\nAAA\n-----END X-----"),
            ("COSIGN_PASSWORD", "pw"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req"),
            ("INPUT_IMAGES", "not-secret"),
        ]);
        let got: Vec<String> = secrets_to_mask(&Inputs::new(&e))
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

    fn masked(pairs: &[(&str, &str)]) -> Vec<String> {
        let e = env(pairs);
        secrets_to_mask(&Inputs::new(&e))
            .iter()
            .map(|s| s.expose().clone())
            .collect()
    }

    #[test]
    fn the_key_input_is_masked_as_text_as_a_file_s_text_never_as_a_reference() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----";
        assert!(masked(&[("INPUT_KEY", pem)]).iter().any(|s| s == pem));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cosign.key");
        std::fs::write(&file, "the key file's text").unwrap();
        let got = masked(&[("INPUT_KEY", file.to_str().unwrap())]);
        assert!(got.iter().any(|s| s == "the key file's text"), "{got:?}");
        // A reference with a scheme names no file of the workspace, even when one has that path.
        std::fs::create_dir(dir.path().join("k8s:")).unwrap();
        std::fs::write(dir.path().join("k8s:").join("key"), "not a key").unwrap();
        let reference = format!("{}/k8s://key", dir.path().display());
        assert!(std::path::Path::new(&reference).is_file());
        let got = masked(&[("INPUT_KEY", &reference)]);
        assert!(!got.iter().any(|s| s == "not a key"), "{got:?}");
    }

    #[test]
    fn inputs_print_nothing_of_what_they_read() {
        let e = env(&[("INPUT_REGISTRY-PASSWORD", "regpw")]);
        assert_eq!(format!("{:?}", Inputs::new(&e)), "Inputs { .. }");
    }

    #[test]
    fn url_credentials_are_the_userinfo_and_its_password_of_each_url() {
        let got = |text: &str| -> Vec<String> {
            url_credentials(text)
                .iter()
                .map(|s| s.expose().clone())
                .collect()
        };
        assert_eq!(
            got("https://user:pw@registry.test/a and\nhttp://token@other.test?x=1"),
            ["user:pw", "pw", "token"]
        );
        // an `@` past the authority (path, query, fragment, next word) is no credential
        for text in [
            "https://registry.test/a@b",
            "https://registry.test?u=a@b",
            "https://registry.test#a@b",
            "https://registry.test mail@example.test",
            "no url at all: a@b",
        ] {
            assert!(got(text).is_empty(), "{text}: {:?}", got(text));
        }
    }

    #[test]
    fn a_docker_config_gives_its_passwords_tokens_and_decoded_auths() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("user:p1");
        std::fs::write(
            &path,
            serde_json::json!({"auths": {
                "a.test": {"auth": auth},
                "b.test": {"password": "p2", "identitytoken": "t3", "registrytoken": "t4", "auth": ""},
            }})
            .to_string(),
        )
        .unwrap();
        let got: Vec<String> = docker_config_secrets(&path)
            .iter()
            .map(|s| s.expose().clone())
            .collect();
        assert_eq!(got, [auth.as_str(), "p1", "p2", "t3", "t4"]);
        // through the Action's DOCKER_CONFIG
        let all = masked(&[("DOCKER_CONFIG", dir.path().to_str().unwrap())]);
        assert!(
            all.iter().any(|s| s == "p1") && all.iter().any(|s| s == "t4"),
            "{all:?}"
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(docker_config_secrets(&path).is_empty());
        assert!(docker_config_secrets(&dir.path().join("absent.json")).is_empty());
    }
}
