//! Validation both front-ends share: raw values (flags or Action inputs) → the parsed pieces of a
//! [`crate::request::Request`]. Everything that can be checked without the network or the key is
//! checked here, once. Messages name the setting as the user wrote it: `--fulcio-url` on the command
//! line, the input `fulcio-url` in the Action ([`Words`]).

use crate::env::{self, Env};
use crate::error::Error;
use crate::oci::{ImageRef, OciError};
use crate::request::{KeyTarget, SignWith, SignatureFormat, TrustSettings, TufSettings};
use crate::secret::SecretString;
use crate::signing::payload::PayloadError;
use crate::signing::{KeyError, KeyRef, PasswordSource};
use crate::sigstore::oidc::TokenSource;
use crate::sigstore::verify::{KeylessPolicy, Matcher};
use crate::stores::github::{GitHubScope, GitHubTarget, OrgVisibility, DEFAULT_API_URL};
use crate::stores::kubernetes::{ClusterLookup, K8sTarget};
use crate::stores::StoreError;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A setting both front-ends take, named differently by each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setting {
    /// `--fulcio-url` / `fulcio-url`
    FulcioUrl,
    /// `--rekor-url` / `rekor-url`
    RekorUrl,
    /// `--trusted-root` / `trusted-root`
    TrustedRoot,
    /// `--signing-config` / `signing-config`
    SigningConfig,
    /// `--timestamp-server-url` / `timestamp-server-url`
    TimestampServerUrl,
    /// `--rekor-version` / `rekor-version`
    RekorVersion,
    /// `TUF_MIRROR` / `tuf-mirror`
    TufMirror,
    /// `TUF_ROOT_JSON` / `tuf-root`
    TufRoot,
    /// `--registry-username` / `registry-username`
    RegistryUsername,
    /// `--registry-password` / `registry-password`
    RegistryPassword,
    /// `--max-workers` / `max-workers`
    MaxWorkers,
}

impl Setting {
    /// The command line's spelling.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Setting::FulcioUrl => "--fulcio-url",
            Setting::RekorUrl => "--rekor-url",
            Setting::TrustedRoot => "--trusted-root",
            Setting::SigningConfig => "--signing-config",
            Setting::TimestampServerUrl => "--timestamp-server-url",
            Setting::RekorVersion => "--rekor-version",
            Setting::TufMirror => "TUF_MIRROR",
            Setting::TufRoot => "TUF_ROOT_JSON",
            Setting::RegistryUsername => "--registry-username",
            Setting::RegistryPassword => "--registry-password",
            Setting::MaxWorkers => "--max-workers",
        }
    }

    /// The Action input's name.
    pub(crate) fn input(self) -> &'static str {
        match self {
            Setting::FulcioUrl => "fulcio-url",
            Setting::RekorUrl => "rekor-url",
            Setting::TrustedRoot => "trusted-root",
            Setting::SigningConfig => "signing-config",
            Setting::TimestampServerUrl => "timestamp-server-url",
            Setting::RekorVersion => "rekor-version",
            Setting::TufMirror => "tuf-mirror",
            Setting::TufRoot => "tuf-root",
            Setting::RegistryUsername => "registry-username",
            Setting::RegistryPassword => "registry-password",
            Setting::MaxWorkers => "max-workers",
        }
    }
}

/// Whose words messages use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Words {
    /// The command line: flags.
    Cli,
    /// The Action: inputs.
    Action,
}

impl Words {
    /// How a message names the setting: `--fulcio-url` or ``input `fulcio-url` ``.
    pub(crate) fn name(self, s: Setting) -> String {
        match self {
            Words::Cli => s.flag().to_string(),
            Words::Action => format!("input `{}`", s.input()),
        }
    }

    /// How a hint shows a value for the setting: `--fulcio-url=https://…` or `` `fulcio-url: https://…` ``.
    pub(crate) fn example(self, s: Setting, value: &str) -> String {
        match self {
            Words::Cli => format!("{}={value}", s.flag()),
            Words::Action => format!("`{}: {value}`", s.input()),
        }
    }
}

/// The signature layouts to write or read: `--signature-format legacy|bundle|both` (input
/// `signature-format`), or cosign's `--new-bundle-format=true|false` (= `bundle` / `legacy`); the
/// default is `both`. Both given and disagreeing is a usage error.
pub(crate) fn signature_format(
    words: Words,
    format: Option<&str>,
    new_bundle_format: Option<bool>,
) -> Result<SignatureFormat, Error> {
    let name = match words {
        Words::Cli => "--signature-format".to_string(),
        Words::Action => "input `signature-format`".to_string(),
    };
    let given = match format.map(str::trim) {
        None | Some("") => None,
        Some("legacy") => Some(SignatureFormat::Legacy),
        Some("bundle") => Some(SignatureFormat::Bundle),
        Some("both") => Some(SignatureFormat::Both),
        Some(other) => return Err(Error::usage(
            format!("{name} is `{other}`, not legacy, bundle or both"),
            "legacy writes cosign's `.sig` tag, bundle a Sigstore bundle attached as an OCI 1.1 \
                 referrer (cosign v3's default), both (the default) writes the two side by side",
        )),
    };
    let synonym = new_bundle_format.map(|b| {
        if b {
            SignatureFormat::Bundle
        } else {
            SignatureFormat::Legacy
        }
    });
    match (given, synonym) {
        (Some(f), Some(s)) if f != s => Err(Error::usage(
            format!(
                "{name} {} and --new-bundle-format={} disagree",
                f.as_str(),
                new_bundle_format.unwrap_or_default()
            ),
            "pass one of them (--new-bundle-format=true means bundle, =false means legacy)",
        )),
        (Some(f), _) | (None, Some(f)) => Ok(f),
        (None, None) => Ok(SignatureFormat::Both),
    }
}

/// Image references, in order (OCI/Docker grammar; Docker Hub short names normalised).
pub(crate) fn image_refs(images: &[String]) -> Result<Vec<ImageRef>, Error> {
    images
        .iter()
        .map(|s| {
            s.parse::<ImageRef>()
                .map_err(|e| Error::Oci(OciError::Reference(e)))
        })
        .collect()
}

/// One record of Go's `encoding/csv` reader with its defaults (what pflag's `StringSlice` uses for
/// each `-a` value): fields split at `,`; a field that starts with `"` is quoted (`""` is a quote,
/// commas and newlines inside are kept); a `"` elsewhere in an unquoted field is an error; a record
/// ends at the first newline outside quotes (later lines are not read, as in pflag); leading empty
/// lines are skipped. Errors are Go's messages.
pub(crate) fn go_csv_record(text: &str) -> Result<Vec<String>, String> {
    let text = text.replace("\r\n", "\n");
    let mut rest = text.trim_start_matches('\n');
    if rest.is_empty() {
        return Err("EOF".into());
    }
    let mut fields = Vec::new();
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = quoted.char_indices();
            let after = loop {
                match chars.next() {
                    None => return Err("extraneous or missing \" in quoted-field".into()),
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else {
                            break &quoted[i + 1..];
                        }
                    }
                    Some((_, c)) => field.push(c),
                }
            };
            fields.push(field);
            match after.chars().next() {
                None | Some('\n') => return Ok(fields),
                Some(',') => rest = &after[1..],
                Some(_) => return Err("extraneous or missing \" in quoted-field".into()),
            }
        } else {
            let end = rest.find([',', '\n']).unwrap_or(rest.len());
            let field = &rest[..end];
            if field.contains('"') {
                return Err("bare \" in non-quoted-field".into());
            }
            fields.push(field.to_string());
            match rest[end..].chars().next() {
                None | Some('\n') => return Ok(fields),
                _ => rest = &rest[end + 1..],
            }
        }
    }
}

/// `-a` values exactly as cosign v3 reads them: each value is split as a CSV record (pflag's
/// `StringSlice`), then each field at its FIRST `=` (`strings.SplitN(a, "=", 2)`,
/// cosign/cmd/cosign/cli/options/annotations.go); a field without `=` is an error; later keys win. So
/// `-a url=https://ci.example/run?id=42` keeps its `=`, and a value with commas is quoted:
/// `-a '"workflow=Build, test and release"'`.
pub(crate) fn cli_annotations(values: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for v in values {
        if v.is_empty() {
            continue;
        }
        let fields = go_csv_record(v).map_err(|reason| {
            Error::Payload(PayloadError::Annotation(format!("{v}` ({reason})")))
        })?;
        for field in fields {
            let Some((k, val)) = field.split_once('=') else {
                return Err(Error::Payload(PayloadError::Annotation(field)));
            };
            if k.is_empty() {
                // cosign accepts it (docs/inputs.md A1f); a pair without a key is always a typo.
                return Err(Error::on_purpose(
                    format!("invalid annotation `{field}`: the key is empty"),
                    "write -a key=value",
                ));
            }
            out.insert(k.to_string(), val.to_string());
        }
    }
    Ok(out)
}

/// One line of the Action's `annotations` input: split at its FIRST `=`; key and value trimmed; the
/// value keeps every `,` and `=` it has. The key must not be empty.
pub(crate) fn annotation_line(line: &str) -> Result<(String, String), Error> {
    match line.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(Error::usage(
            format!("input `annotations` has a line that is not key=value: `{line}`"),
            "write one key=value per line, e.g. `team=platform` (the value may hold `=` and `,`)",
        )),
    }
}

/// A Fulcio or Rekor URL: http or https.
pub(crate) fn service_url(words: Words, setting: Setting, url: &str) -> Result<String, Error> {
    let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !ok {
        return Err(Error::usage(
            format!(
                "{} `{}` is not an http(s) URL",
                words.name(setting),
                crate::secret::redact_url_credentials(url)
            ),
            format!("pass a URL such as {}", words.example(setting, "https://…")),
        ));
    }
    Ok(url.to_string())
}

/// A Rekor API version: `1` or `2`.
pub(crate) fn rekor_version(words: Words, value: &str) -> Result<u32, Error> {
    match value.trim() {
        "1" => Ok(1),
        "2" => Ok(2),
        other => Err(Error::usage(
            format!(
                "{} `{other}` is not a Rekor API version",
                words.name(Setting::RekorVersion)
            ),
            format!(
                "pass {} or {}",
                words.example(Setting::RekorVersion, "1"),
                words.example(Setting::RekorVersion, "2")
            ),
        )),
    }
}

/// How many images are signed at once: a whole number from 1 to
/// [`crate::ops::sign_image::MAX_MAX_WORKERS`]; `None` gives the default
/// ([`crate::ops::sign_image::DEFAULT_MAX_WORKERS`]).
pub(crate) fn max_workers(words: Words, value: Option<&str>) -> Result<usize, Error> {
    use crate::ops::sign_image::{DEFAULT_MAX_WORKERS, MAX_MAX_WORKERS};
    let Some(value) = value else {
        return Ok(DEFAULT_MAX_WORKERS);
    };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(Error::usage(
            format!(
                "{} `{value}` is not a whole number from 1 to {MAX_MAX_WORKERS}",
                words.name(Setting::MaxWorkers)
            ),
            format!(
                "pass how many images to sign at once, e.g. {} (the default)",
                words.example(Setting::MaxWorkers, &DEFAULT_MAX_WORKERS.to_string())
            ),
        )),
    }
}

/// The TUF cache directory: `FERROSIGN_TUF_CACHE`, else `$XDG_CACHE_HOME/ferrosign/tuf`, else
/// `$HOME/.cache/ferrosign/tuf` (`None` when none is set: nothing is cached).
pub(crate) fn tuf_cache(env: &Env<'_>) -> Option<PathBuf> {
    if let Some(dir) = env.get(env::FERROSIGN_TUF_CACHE) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env.get(env::XDG_CACHE_HOME) {
        return Some(PathBuf::from(dir).join("ferrosign").join("tuf"));
    }
    env.get(env::HOME).map(|h| {
        PathBuf::from(h)
            .join(".cache")
            .join("ferrosign")
            .join("tuf")
    })
}

/// Where trust comes from: the files given, and for the rest the TUF mirror and root (`mirror`/`root`:
/// the Action's inputs, else cosign's `TUF_MIRROR`/`TUF_ROOT_JSON`) and the cache directory.
pub(crate) fn trust_settings(
    words: Words,
    trusted_root: Option<PathBuf>,
    signing_config: Option<PathBuf>,
    mirror: Option<String>,
    root: Option<PathBuf>,
    env: &Env<'_>,
) -> Result<TrustSettings, Error> {
    let mirror = match mirror.or_else(|| env.get(env::TUF_MIRROR)) {
        Some(m) => Some(service_url(words, Setting::TufMirror, &m)?),
        None => None,
    };
    Ok(TrustSettings {
        trusted_root,
        signing_config,
        tuf: TufSettings {
            mirror,
            root: root.or_else(|| env.get(env::TUF_ROOT_JSON).map(PathBuf::from)),
            cache: tuf_cache(env),
        },
        loaded: None,
    })
}

/// A key reference: a path or `env://VAR` (read now, from `env`).
pub(crate) fn key_ref(s: &str, env: &Env<'_>) -> Result<KeyRef, Error> {
    KeyRef::parse(s, |name| env.named(name)).map_err(|e| match e {
        // key text is secret: never echoed
        KeyError::TextNotReference => Error::key("invalid key reference", e),
        e => Error::key(format!("invalid key reference `{s}`"), e),
    })
}

/// Where a key's password comes from, in cosign's order: `COSIGN_PASSWORD` when set (even empty, and
/// taken as the bytes it holds, UTF-8 or not), else the terminal, else stdin.
pub(crate) fn password(env: &Env<'_>) -> PasswordSource {
    match env.bytes(env::COSIGN_PASSWORD) {
        Some(p) => PasswordSource::Given(crate::secret::SecretBytes::new(p)),
        None => PasswordSource::Prompt,
    }
}

/// The docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub(crate) fn docker_config(env: &Env<'_>) -> Option<PathBuf> {
    if let Some(dir) = env.get(env::DOCKER_CONFIG) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    env.get(env::HOME)
        .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// Whether the triggering event's payload (`GITHUB_EVENT_PATH`) says the repository is private:
/// `Some("acme/app is private")`. Errors: a payload that exists but cannot be read (over
/// [`crate::fsutil::EVENT_PAYLOAD_FILE`], say): whether signing would publish a private repository's
/// name is then unknown.
pub(crate) fn private_by_event(env: &Env<'_>) -> Result<Option<String>, Error> {
    let Some(event) = read_event(env)? else {
        return Ok(None);
    };
    if event["repository"]["private"].as_bool() == Some(true) {
        let name = event["repository"]["full_name"]
            .as_str()
            .unwrap_or("the repository");
        return Ok(Some(format!("{name} is private")));
    }
    Ok(None)
}

/// The triggering event's JSON payload, when there is one (`None`: no `GITHUB_EVENT_PATH`, no such
/// file, or not JSON). Errors: a file that cannot be read, or is over its limit.
fn read_event(env: &Env<'_>) -> Result<Option<serde_json::Value>, Error> {
    let Some(path) = env.get(env::GITHUB_EVENT_PATH) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    match crate::fsutil::read_limited(&path, crate::fsutil::EVENT_PAYLOAD_FILE) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// True when the triggering event is a pull request whose head lives in another repository.
pub(crate) fn is_fork_pull_request(env: &Env<'_>) -> bool {
    let Some(name) = env.get(env::GITHUB_EVENT_NAME) else {
        return false;
    };
    if !name.starts_with("pull_request") {
        return false;
    }
    let Ok(Some(event)) = read_event(env) else {
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

/// Keyless signing in Actions needs the OIDC token request variables; fails early, before any network,
/// with the reason a user can act on (missing `id-token: write`, or a pull request from a fork).
pub(crate) fn check_keyless_token_available(env: &Env<'_>) -> Result<(), Error> {
    if env.get(env::SIGSTORE_ID_TOKEN).is_some()
        || (env.get(env::ACTIONS_ID_TOKEN_REQUEST_URL).is_some()
            && env.get(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN).is_some())
    {
        return Ok(());
    }
    if is_fork_pull_request(env) {
        return Err(Error::input(
            "keyless signing needs an OIDC token, and GitHub gives none to pull requests from forks",
            "skip signing on pull requests (`if: github.event_name != 'pull_request'`), or sign after merge",
        ));
    }
    Err(Error::input(
        "keyless signing needs an OIDC token, and this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set)",
        "add `permissions: id-token: write` to the job (or the workflow), or sign with a key: `key: env://COSIGN_PRIVATE_KEY`",
    ))
}

/// Who signs: a key (with the password from `COSIGN_PASSWORD` or the terminal), else keyless with the
/// token from `identity_token`, `SIGSTORE_ID_TOKEN`, or the GitHub Actions token service; in Actions
/// without the token variables, the reason (no `id-token: write` permission, or a fork).
pub(crate) fn sign_with(
    key: Option<&str>,
    identity_token: Option<SecretString>,
    env: &Env<'_>,
) -> Result<SignWith, Error> {
    if let Some(key) = key {
        if identity_token.is_some() {
            return Err(Error::usage(
                "--identity-token is for keyless signing, and --key was given",
                "drop one of them",
            ));
        }
        return Ok(SignWith::Key {
            key: key_ref(key, env)?,
            password: password(env),
        });
    }
    let given = |v: &str| !v.trim().is_empty();
    if let Some(t) = identity_token.filter(|t| given(t.expose())) {
        return Ok(SignWith::Keyless(TokenSource::Given(t)));
    }
    if let Some(t) = env.get(env::SIGSTORE_ID_TOKEN).filter(|t| given(t)) {
        return Ok(SignWith::Keyless(TokenSource::Given(t.into())));
    }
    if let (Some(url), Some(token)) = (
        env.get(env::ACTIONS_ID_TOKEN_REQUEST_URL)
            .filter(|t| given(t)),
        env.get(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN)
            .filter(|t| given(t)),
    ) {
        return Ok(SignWith::Keyless(TokenSource::Actions {
            url,
            request_token: token.into(),
        }));
    }
    if env.get(env::GITHUB_ACTIONS).as_deref() == Some("true") {
        check_keyless_token_available(env)?;
    }
    Err(Error::input(
        "keyless signing (without --key) needs an OIDC identity token, and there is none",
        "in GitHub Actions add `permissions: id-token: write`; elsewhere pass --identity-token (or SIGSTORE_ID_TOKEN); or sign with --key",
    ))
}

fn matcher(
    exact: Option<String>,
    regexp: Option<String>,
    flag: &str,
) -> Result<Option<Matcher>, Error> {
    Ok(match (exact, regexp) {
        (Some(s), _) if s.is_empty() => {
            return Err(Error::usage(
                format!("--{flag} is empty"),
                format!("pass the expected value to --{flag}"),
            ))
        }
        (Some(s), _) => Some(Matcher::Exact(s)),
        (None, Some(r)) => Some(Matcher::Regex(regex::Regex::new(&r).map_err(|e| {
            Error::usage(
                format!("--{flag}-regexp is not a valid regular expression: {e}"),
                "use Rust/Go regular expression syntax, e.g. ^https://github.com/acme/",
            )
        })?)),
        (None, None) => None,
    })
}

/// The keyless policy from cosign's flags: both an identity and an issuer are required, as in cosign.
pub(crate) fn keyless_policy(
    identity: Option<String>,
    identity_regexp: Option<String>,
    issuer: Option<String>,
    issuer_regexp: Option<String>,
    insecure_ignore_sct: bool,
) -> Result<Option<KeylessPolicy>, Error> {
    for (flag, both) in [
        (
            "certificate-identity",
            identity.is_some() && identity_regexp.is_some(),
        ),
        (
            "certificate-oidc-issuer",
            issuer.is_some() && issuer_regexp.is_some(),
        ),
    ] {
        if both {
            // cosign takes both and silently uses one of them (docs/inputs.md F23).
            return Err(Error::on_purpose(
                format!("--{flag} and --{flag}-regexp were both given: which one counts would be ambiguous"),
                format!("pass either --{flag} or --{flag}-regexp"),
            ));
        }
    }
    let identity = matcher(identity, identity_regexp, "certificate-identity")?;
    let issuer = matcher(issuer, issuer_regexp, "certificate-oidc-issuer")?;
    match (identity, issuer) {
        (Some(identity), Some(issuer)) => Ok(Some(KeylessPolicy {
            identity,
            issuer,
            insecure_ignore_sct,
            insecure_ignore_tlog: false,
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::usage(
            "keyless verification needs the OIDC issuer too",
            "add --certificate-oidc-issuer (GitHub Actions: https://token.actions.githubusercontent.com)",
        )),
        (None, Some(_)) => Err(Error::usage(
            "keyless verification needs the signer's identity too",
            "add --certificate-identity (GitHub Actions: https://github.com/OWNER/REPO/.github/workflows/FILE@REF) or --certificate-identity-regexp",
        )),
    }
}

const TARGET_HINT: &str =
    "pass github://OWNER/REPO, github://ORG or k8s://NAMESPACE/NAME (or nothing, to write key files)";

/// What a key pair target may need from the environment: the GitHub token and API base, and where the
/// Kubernetes cluster is named (read by the front-end).
#[derive(Debug, Default)]
pub(crate) struct TargetEnv {
    /// a token that may write Actions secrets (`GITHUB_TOKEN`, even when empty)
    pub(crate) github_token: Option<SecretString>,
    /// `GITHUB_HOST` (cosign's variable for GitHub Enterprise), even when empty
    pub(crate) github_host: Option<String>,
    /// `GITHUB_API_URL`
    pub(crate) github_api_url: Option<String>,
    /// `KUBECONFIG`, `HOME`, the in-cluster service variables
    pub(crate) cluster: ClusterLookup,
}

impl TargetEnv {
    /// From the environment: `GITHUB_TOKEN`, `GITHUB_HOST`, `GITHUB_API_URL`, `KUBECONFIG`, `HOME`,
    /// `KUBERNETES_SERVICE_HOST`/`_PORT`.
    pub(crate) fn from_env(env: &Env<'_>) -> Self {
        TargetEnv {
            github_token: env.raw(env::GITHUB_TOKEN).map(SecretString::from),
            github_host: env.raw(env::GITHUB_HOST),
            github_api_url: env.get(env::GITHUB_API_URL),
            cluster: ClusterLookup {
                kubeconfig: env.get(env::KUBECONFIG),
                home: env.get(env::HOME).map(PathBuf::from),
                service_host: env.get(env::KUBERNETES_SERVICE_HOST),
                service_port: env.get(env::KUBERNETES_SERVICE_PORT),
            },
        }
    }
}

/// The GitHub REST API base a token may be sent to, and which variable named it, decided as cosign
/// decides it (`pkg/cosign/git/github/github.go`, go-github's `WithEnterpriseURLs`): `GITHUB_HOST`
/// when set, a URL to which `/api/v3` is added unless its path ends so or its host starts with `api.`
/// or contains `.api.`; else (ferrosign's own) `GITHUB_API_URL`; else `https://api.github.com`. Both
/// set but naming different hosts is refused on purpose: the token would go to one of them. Nothing is
/// sent anywhere before this is settled.
pub(crate) fn github_api(
    host: Option<&str>,
    api_url: Option<&str>,
) -> Result<(String, &'static str), Error> {
    let api_url = api_url.map(str::trim).filter(|u| !u.is_empty());
    let Some(host) = host else {
        let Some(url) = api_url else {
            return Ok((DEFAULT_API_URL.to_string(), "default"));
        };
        let url = url.trim_end_matches('/').to_string();
        let var = env::GITHUB_API_URL.name;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(Error::input(
                format!("{var} `{url}` is not an http(s) URL"),
                format!("set {var} to the REST API base, e.g. https://github.example.com/api/v3, or unset it for github.com"),
            ));
        }
        return Ok((url, var));
    };
    let var = env::GITHUB_HOST.name;
    let not_url = || {
        Error::input(
            format!("{var} `{host}` is not a URL"),
            format!(
                "write {var}=https://{} (cosign's form: the scheme is needed)",
                host.trim().trim_start_matches("//").trim_end_matches('/')
            ),
        )
    };
    let parsed = reqwest::Url::parse(host).map_err(|_| not_url())?;
    let name = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(not_url)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(not_url());
    }
    let mut path = parsed.path().to_string();
    if !path.ends_with('/') {
        path.push('/');
    }
    if !path.ends_with("/api/v3/") && !name.starts_with("api.") && !name.contains(".api.") {
        path.push_str("api/v3/");
    }
    let authority = match parsed.port() {
        Some(p) => format!("{name}:{p}"),
        None => name.to_string(),
    };
    let base = format!(
        "{}://{authority}{}",
        parsed.scheme(),
        path.trim_end_matches('/')
    );
    if let Some(other) = api_url {
        let theirs = reqwest::Url::parse(other).ok();
        let same = theirs.as_ref().is_some_and(|u| {
            u.host_str() == Some(name)
                && u.port_or_known_default() == parsed.port_or_known_default()
        });
        if !same {
            return Err(Error::on_purpose(
                format!(
                    "GITHUB_HOST and GITHUB_API_URL name different hosts ({host} and {other}): the token would go to one of them"
                ),
                "unset one of them (GITHUB_HOST is cosign's variable; GitHub's runners set GITHUB_API_URL)",
            ));
        }
    }
    Ok((base, var))
}

/// Parses `generate-key-pair`'s TARGET and its GitHub options.
pub(crate) fn key_target(
    target: Option<&str>,
    environment: Option<&str>,
    visibility: Option<&str>,
    found: TargetEnv,
) -> Result<KeyTarget, Error> {
    let github_only = |flag: &str| {
        Error::usage(
            format!("{flag} applies to github:// targets only"),
            "drop the flag, or store the key pair in GitHub: github://OWNER/REPO or github://ORG",
        )
    };
    let Some(target) = target.filter(|t| !t.is_empty()) else {
        if environment.is_some() {
            return Err(github_only("--github-environment"));
        }
        if visibility.is_some() {
            return Err(github_only("--github-visibility"));
        }
        return Ok(KeyTarget::Files);
    };
    let Some((scheme, rest)) = target.split_once("://") else {
        return Err(Error::usage(
            format!("`{target}` is not a key pair target"),
            format!("{TARGET_HINT}; key files are named with --output-key-prefix"),
        ));
    };
    match scheme {
        "github" => {
            let scope = github_scope(target, rest, environment, visibility)?;
            // Where the token goes is decided before the token is even looked at.
            let (api_url, api_from) = github_api(
                found.github_host.as_deref(),
                found.github_api_url.as_deref(),
            )?;
            let token = found.github_token.ok_or(StoreError::NoToken)?;
            if token.expose().trim().is_empty() {
                // cosign sends the empty token and fails at GitHub (docs/inputs.md A7j)
                return Err(Error::on_purpose(
                    "GITHUB_TOKEN is empty: GitHub would only refuse it, after a key pair was generated",
                    "set GITHUB_TOKEN to a token that may write Actions secrets, e.g. `export GITHUB_TOKEN=$(gh auth token)`",
                ));
            }
            Ok(KeyTarget::GitHub(GitHubTarget {
                scope,
                api_url,
                api_from,
                token: SecretString::from(token.expose().trim().to_string()),
            }))
        }
        "k8s" | "kubernetes" => {
            if environment.is_some() {
                return Err(github_only("--github-environment"));
            }
            if visibility.is_some() {
                return Err(github_only("--github-visibility"));
            }
            let bad = || {
                Error::usage(
                    format!("`{target}` is not a valid Kubernetes Secret reference"),
                    "use k8s://NAMESPACE/NAME with lowercase DNS names, e.g. k8s://default/cosign",
                )
            };
            let (namespace, name) = rest.split_once('/').ok_or_else(bad)?;
            if !is_dns_label(namespace) || !is_dns_subdomain(name) {
                return Err(bad());
            }
            Ok(KeyTarget::Kubernetes(K8sTarget {
                namespace: namespace.into(),
                name: name.into(),
                lookup: found.cluster,
            }))
        }
        other => Err(Error::NotAvailable {
            message: format!("storing key pairs in {other}:// is not available in this build"),
            hint: TARGET_HINT.into(),
        }),
    }
}

fn github_scope(
    target: &str,
    rest: &str,
    environment: Option<&str>,
    visibility: Option<&str>,
) -> Result<GitHubScope, Error> {
    let bad = || {
        Error::usage(
            format!("`{target}` is not a valid GitHub target"),
            "use github://OWNER/REPO for repository secrets or github://ORG for organisation secrets",
        )
    };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, repo] => {
            if !is_github_owner(owner) || !is_github_repo(repo) {
                return Err(bad());
            }
            if visibility.is_some() {
                return Err(Error::usage(
                    "--github-visibility applies to organisation secrets (github://ORG) only",
                    "drop --github-visibility: repository secrets are visible to their repository",
                ));
            }
            let (owner, repo) = (owner.to_string(), repo.to_string());
            match environment {
                None => Ok(GitHubScope::Repo { owner, repo }),
                Some(e) => {
                    if e.is_empty() || e.chars().count() > 255 || e.chars().any(char::is_control) {
                        return Err(Error::usage(
                            format!("`{e}` is not a valid environment name"),
                            "pass the environment's name as shown in the repository's settings",
                        ));
                    }
                    Ok(GitHubScope::Environment {
                        owner,
                        repo,
                        environment: e.to_string(),
                    })
                }
            }
        }
        [org] => {
            if !is_github_owner(org) {
                return Err(bad());
            }
            if environment.is_some() {
                return Err(Error::usage(
                    "--github-environment needs a repository: github://OWNER/REPO",
                    "environments belong to repositories: pass github://OWNER/REPO --github-environment ENV",
                ));
            }
            let visibility = match visibility {
                None | Some("private") => OrgVisibility::Private,
                Some("all") => OrgVisibility::All,
                Some("selected") => OrgVisibility::Selected,
                Some(v) => {
                    return Err(Error::usage(
                        format!("`{v}` is not a secret visibility"),
                        "pass --github-visibility all, private or selected",
                    ))
                }
            };
            Ok(GitHubScope::Org {
                org: org.to_string(),
                visibility,
            })
        }
        _ => Err(bad()),
    }
}

/// GitHub user and organisation names: letters, digits, hyphens; at most 39.
fn is_github_owner(s: &str) -> bool {
    (1..=39).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// GitHub repository names: letters, digits, `.`, `-`, `_`; at most 100; not `.` or `..`.
fn is_github_repo(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// RFC 1123 label (Kubernetes namespaces): lowercase letters, digits, `-`; at most 63.
fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain (Kubernetes object names): labels joined by `.`; at most 253.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

#[cfg(test)]
mod key_target_tests {
    use super::*;

    fn env(token: Option<&str>, api: Option<&str>) -> TargetEnv {
        TargetEnv {
            github_token: token.map(|t| SecretString::from(t.to_string())),
            github_host: None,
            github_api_url: api.map(String::from),
            cluster: ClusterLookup::default(),
        }
    }

    fn github(t: &str, e: Option<&str>, v: Option<&str>) -> Result<GitHubTarget, Error> {
        match key_target(Some(t), e, v, env(Some("tok"), None))? {
            KeyTarget::GitHub(g) => Ok(g),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_by_default() {
        assert!(matches!(
            key_target(None, None, None, env(None, None)).unwrap(),
            KeyTarget::Files
        ));
        assert!(key_target(None, Some("prod"), None, env(None, None)).is_err());
    }

    #[test]
    fn github_scopes() {
        let g = github("github://acme/app", None, None).unwrap();
        assert_eq!(
            g.scope,
            GitHubScope::Repo {
                owner: "acme".into(),
                repo: "app".into()
            }
        );
        assert_eq!(g.api_url, DEFAULT_API_URL);
        assert_eq!(g.token.expose(), "tok");
        let g = github("github://acme/app", Some("prod env"), None).unwrap();
        assert!(
            matches!(g.scope, GitHubScope::Environment { ref environment, .. } if environment == "prod env")
        );
        let g = github("github://acme", None, None).unwrap();
        assert!(matches!(
            g.scope,
            GitHubScope::Org {
                visibility: OrgVisibility::Private,
                ..
            }
        ));
        let g = github("github://acme", None, Some("selected")).unwrap();
        assert!(matches!(
            g.scope,
            GitHubScope::Org {
                visibility: OrgVisibility::Selected,
                ..
            }
        ));
        assert!(github("github://acme", Some("prod"), None).is_err());
        assert!(github("github://acme/app", None, Some("all")).is_err());
        assert!(github("github://acme", None, Some("public")).is_err());
        for bad in [
            "github://",
            "github://a/b/c",
            "github://a b/c",
            "github://acme/..",
            "github://-x_/y?",
        ] {
            assert!(github(bad, None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn github_needs_a_token_and_takes_the_api_url() {
        let e = key_target(Some("github://a/b"), None, None, env(None, None)).unwrap_err();
        assert!(matches!(e, Error::Store(StoreError::NoToken)), "{e:?}");
        let t = key_target(
            Some("github://a/b"),
            None,
            None,
            env(Some("t"), Some("https://ghe.example/api/v3/")),
        )
        .unwrap();
        assert!(matches!(t, KeyTarget::GitHub(g) if g.api_url == "https://ghe.example/api/v3"));
        assert!(key_target(
            Some("github://a/b"),
            None,
            None,
            env(Some("t"), Some("ghe.example"))
        )
        .is_err());
    }

    #[test]
    fn github_host_as_cosign_reads_it() {
        let api = |h: Option<&str>, u: Option<&str>| github_api(h, u).map(|(a, _)| a);
        assert_eq!(api(None, None).unwrap(), DEFAULT_API_URL);
        assert_eq!(
            api(Some("https://ghe.example"), None).unwrap(),
            "https://ghe.example/api/v3"
        );
        assert_eq!(
            api(Some("http://127.0.0.1:8080"), None).unwrap(),
            "http://127.0.0.1:8080/api/v3"
        );
        assert_eq!(
            api(Some("https://ghe.example/api/v3/"), None).unwrap(),
            "https://ghe.example/api/v3"
        );
        assert_eq!(
            api(Some("https://api.ghe.example"), None).unwrap(),
            "https://api.ghe.example"
        );
        assert_eq!(
            api(Some("https://x.api.ghe.example/"), None).unwrap(),
            "https://x.api.ghe.example"
        );
        assert_eq!(
            api(Some("http://host:1/ghe"), None).unwrap(),
            "http://host:1/ghe/api/v3"
        );
        // agreeing GITHUB_API_URL is fine; another host is refused
        assert!(api(
            Some("https://ghe.example"),
            Some("https://ghe.example/api/v3")
        )
        .is_ok());
        let e = api(Some("https://ghe.example"), Some("https://api.github.com")).unwrap_err();
        assert!(e.to_string().contains("refused on purpose"), "{e}");
        for bad in [
            "ghe.example",
            "127.0.0.1:8080",
            "",
            "ftp://ghe.example",
            "localhost:1",
        ] {
            let e = api(Some(bad), None).unwrap_err();
            assert!(e.to_string().contains("is not a URL"), "{bad}: {e}");
        }
        // the empty token is refused; an unset one is the usual error
        let mut found = env(Some(" "), None);
        found.github_host = Some("https://ghe.example".into());
        let e = key_target(Some("github://a/b"), None, None, found).unwrap_err();
        assert!(e.to_string().contains("GITHUB_TOKEN is empty"), "{e}");
    }

    #[test]
    fn kubernetes_refs() {
        let t = key_target(
            Some("k8s://default/cosign-keys"),
            None,
            None,
            env(None, None),
        )
        .unwrap();
        assert!(
            matches!(t, KeyTarget::Kubernetes(k) if k.namespace == "default" && k.name == "cosign-keys")
        );
        for bad in [
            "k8s://default",
            "k8s://Default/x",
            "k8s://a/b/c",
            "k8s:///x",
            "k8s://a/-x",
        ] {
            assert!(
                key_target(Some(bad), None, None, env(None, None)).is_err(),
                "{bad}"
            );
        }
        assert!(key_target(Some("k8s://a/b"), Some("e"), None, env(None, None)).is_err());
        assert!(matches!(
            key_target(Some("gitlab://a/b"), None, None, env(None, None)),
            Err(Error::NotAvailable { .. })
        ));
        assert!(key_target(Some("cosign"), None, None, env(None, None)).is_err());
    }
}

#[cfg(test)]
mod annotation_tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn csv_records_as_go_reads_them() {
        let ok: &[(&str, &[&str])] = &[
            ("a=1,b=2", &["a=1", "b=2"]),
            ("\"k=a,b\"", &["k=a,b"]),
            ("\"a\"\"b\",c", &["a\"b", "c"]),
            ("a,", &["a", ""]),
            (",", &["", ""]),
            ("a\nb=2", &["a"]),
            ("\n\na=1", &["a=1"]),
            ("\"multi\nline\"", &["multi\nline"]),
            (
                "url=https://ci.example/run?id=42",
                &["url=https://ci.example/run?id=42"],
            ),
            (" spaced = kept ", &[" spaced = kept "]),
        ];
        for (text, want) in ok {
            assert_eq!(go_csv_record(text).unwrap(), strings(want), "{text:?}");
        }
        for bad in ["x=\"a\"", "\"open", "\"a\"x", "\n"] {
            assert!(go_csv_record(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cli_annotations_follow_cosign_v3() {
        let got = cli_annotations(&strings(&[
            "url=https://ci.example/run?id=42",
            "a=1,b=2",
            "\"workflow=Build, test and release\"",
            "empty=",
            "a=3",
        ]))
        .unwrap();
        let want: BTreeMap<String, String> = [
            ("url", "https://ci.example/run?id=42"),
            ("a", "3"),
            ("b", "2"),
            ("workflow", "Build, test and release"),
            ("empty", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        for bad in ["novalue", "a=1,", "workflow=Build, test", "x=\"a,b\"", "=v"] {
            let e = cli_annotations(&strings(&[bad])).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        assert!(cli_annotations(&[]).unwrap().is_empty());
    }

    #[test]
    fn action_lines_split_at_the_first_equals_only() {
        assert_eq!(
            annotation_line("run-url=https://ci.example/run?id=42").unwrap(),
            ("run-url".into(), "https://ci.example/run?id=42".into())
        );
        assert_eq!(
            annotation_line("filter = a=1,b=2").unwrap(),
            ("filter".into(), "a=1,b=2".into())
        );
        assert_eq!(
            annotation_line("empty=").unwrap(),
            ("empty".into(), String::new())
        );
        for bad in ["team", "=x", " = x"] {
            let e = annotation_line(bad).unwrap_err();
            assert!(e.to_string().contains("input `annotations`"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
    }
}

/// `COSIGN_DOCKER_MEDIA_TYPES`, read as cosign reads it (Go's `strconv.ParseBool`: `1 t T TRUE true
/// True`, `0 f F FALSE false False`; unset or empty: false). Any other value is refused on purpose
/// (docs/inputs.md A6b): cosign silently takes it as false, which is how users meet the registry's 400.
pub(crate) fn docker_media_types(env: &Env<'_>) -> Result<bool, Error> {
    let Some(v) = env.get(env::COSIGN_DOCKER_MEDIA_TYPES) else {
        return Ok(false);
    };
    match v.as_str() {
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        other => Err(Error::usage(
            format!("COSIGN_DOCKER_MEDIA_TYPES must be 1, 0, true or false, not `{other}`"),
            "set COSIGN_DOCKER_MEDIA_TYPES=1 to write Docker media types (as cosign reads it), or unset it",
        )),
    }
}
