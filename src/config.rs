//! Raw arguments (CLI or Action inputs) → one validated request, ready to run.
//! Everything that can be checked without touching the network or the key is checked here.

use crate::cli::{self, Command};
use crate::error::Error;
use crate::inputs;
use crate::keyless::{Instance, PrivateRepository};
use crate::oci::{ImageRef, OciError, RegistryOptions};
use crate::oidc::TokenSource;
use crate::secret::SecretString;
use crate::secrets::SecretsError;
use crate::signing::payload::parse_annotations;
use crate::signing::{KeyRef, PasswordSource};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A validated request: what to do, with everything parsed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// Make a key pair.
    GenerateKeyPair(GenerateKeyPair),
    /// Print or write the public key of a private key.
    PublicKey(PublicKeyRequest),
    /// Sign a file.
    SignBlob(SignBlob),
    /// Verify a file.
    VerifyBlob(VerifyBlob),
    /// Sign container images.
    SignImages(SignImages),
    /// Verify container images.
    VerifyImages(VerifyImages),
    /// Push a file as an OCI artifact.
    UploadBlob(UploadBlob),
}

/// `sign` (images).
#[derive(Debug)]
pub struct SignImages {
    /// the images, in order
    pub images: Vec<ImageRef>,
    /// who signs
    pub signer: SignerSpec,
    /// `-a` annotations for the payload's `optional`
    pub annotations: BTreeMap<String, String>,
    /// also sign an index's children
    pub recursive: bool,
    /// registry access
    pub registry: RegistryOptions,
    /// the Sigstore instance (Fulcio, Rekor, trusted root, private repository policy)
    pub instance: Instance,
    /// record each signature in Rekor
    pub tlog_upload: bool,
}

/// `verify` (images).
#[derive(Debug)]
pub struct VerifyImages {
    /// the images
    pub images: Vec<ImageRef>,
    /// a public key, or a keyless identity policy
    pub signer: VerifySigner,
    /// the Sigstore instance's trusted root (None: the embedded public-good root)
    pub trusted_root: Option<PathBuf>,
    /// annotations every accepted payload must carry
    pub annotations: BTreeMap<String, String>,
    /// `--insecure-ignore-tlog` was given
    pub ignore_tlog: bool,
    /// registry access
    pub registry: RegistryOptions,
}

/// `upload blob`.
#[derive(Debug)]
pub struct UploadBlob {
    /// the file
    pub file: PathBuf,
    /// where to push it (a tag, or `latest`)
    pub image: ImageRef,
    /// the layer media type, when given
    pub content_type: Option<String>,
    /// registry access
    pub registry: RegistryOptions,
}

/// Where a new key pair goes.
#[derive(Debug)]
pub struct GenerateKeyPair {
    /// `PREFIX.key` / `PREFIX.pub` (with a secrets target only `PREFIX.pub` is written)
    pub prefix: String,
    /// overwrite existing files (and, with a secrets target, existing secrets)
    pub force: bool,
    /// where the new key's password comes from; with a secrets target `EnvOrPrompt` means
    /// `COSIGN_PASSWORD` or a generated one, never a prompt
    pub password: PasswordSource,
    /// files, or a secret store
    pub target: KeyTarget,
}

/// Where `generate-key-pair` stores the new key pair.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyTarget {
    /// `PREFIX.key` and `PREFIX.pub` in the working directory.
    Files,
    /// GitHub Actions secrets `COSIGN_PASSWORD`, `COSIGN_PRIVATE_KEY`, `COSIGN_PUBLIC_KEY`.
    GitHub(GitHubTarget),
    /// An immutable Kubernetes Secret with `cosign.key`, `cosign.pub`, `cosign.password`.
    Kubernetes(K8sTarget),
}

/// `github://OWNER/REPO` (optionally an environment) or `github://ORG`.
#[derive(Debug)]
pub struct GitHubTarget {
    /// whose secrets
    pub scope: GitHubScope,
    /// the REST API base, without a trailing slash (`GITHUB_API_URL`, else `https://api.github.com`)
    pub api_url: String,
    /// a token that may write Actions secrets (`GITHUB_TOKEN`)
    pub token: SecretString,
}

/// Whose Actions secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHubScope {
    /// A repository's secrets.
    Repo {
        /// owner (user or organisation)
        owner: String,
        /// repository name
        repo: String,
    },
    /// A deployment environment's secrets.
    Environment {
        /// owner (user or organisation)
        owner: String,
        /// repository name
        repo: String,
        /// environment name
        environment: String,
    },
    /// An organisation's secrets.
    Org {
        /// organisation
        org: String,
        /// which repositories may read them
        visibility: OrgVisibility,
    },
}

/// Which repositories of an organisation may read its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgVisibility {
    /// every repository
    All,
    /// private and internal repositories
    Private,
    /// only repositories picked afterwards in the organisation settings
    Selected,
}

impl OrgVisibility {
    /// The API's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgVisibility::All => "all",
            OrgVisibility::Private => "private",
            OrgVisibility::Selected => "selected",
        }
    }
}

/// `k8s://NAMESPACE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sTarget {
    /// namespace
    pub namespace: String,
    /// Secret name
    pub name: String,
}

/// `public-key`.
#[derive(Debug)]
pub struct PublicKeyRequest {
    /// the private key
    pub key: KeyRef,
    /// its password
    pub password: PasswordSource,
    /// write here instead of stdout
    pub outfile: Option<PathBuf>,
}

/// Who signs: a cosign key, or a keyless identity (an OIDC token traded for a Fulcio certificate).
#[derive(Debug)]
pub enum SignerSpec {
    /// A cosign private key.
    Key {
        /// the key
        key: KeyRef,
        /// its password
        password: PasswordSource,
    },
    /// Keyless: where the identity token comes from.
    Keyless(TokenSource),
}

/// `sign-blob`.
#[derive(Debug)]
pub struct SignBlob {
    /// the file
    pub file: PathBuf,
    /// who signs
    pub signer: SignerSpec,
    /// also write the signature here
    pub output_signature: Option<PathBuf>,
    /// keyless: also write the certificate here
    pub output_certificate: Option<PathBuf>,
    /// write a Sigstore bundle here
    pub bundle: Option<PathBuf>,
    /// the Sigstore instance (Fulcio, Rekor, trusted root, private repository policy)
    pub instance: Instance,
    /// record the signature in Rekor
    pub tlog_upload: bool,
}

/// `verify-blob`.
#[derive(Debug)]
pub struct VerifyBlob {
    /// the file
    pub file: PathBuf,
    /// a public key, or a keyless identity policy
    pub signer: VerifySigner,
    /// the signature or bundle
    pub evidence: BlobEvidence,
    /// the Sigstore instance's trusted root (None: the embedded public-good root)
    pub trusted_root: Option<PathBuf>,
    /// `--insecure-ignore-tlog`
    pub ignore_tlog: bool,
}

/// What a signature must verify with.
#[derive(Debug)]
pub enum VerifySigner {
    /// a public key (`--key`)
    Key(KeyRef),
    /// a Fulcio certificate for this identity and issuer
    Keyless(crate::verify::KeylessPolicy),
}

/// What `verify-blob` checks the file against.
#[derive(Debug)]
pub enum BlobEvidence {
    /// A path to a signature file, or the base64 signature itself.
    Signature(String),
    /// A bundle file.
    Bundle(PathBuf),
}

fn key_ref(s: &str) -> Result<KeyRef, Error> {
    s.parse()
        .map_err(|e| Error::key(format!("invalid key reference `{s}`"), e))
}

/// Validates parsed command-line arguments.
pub fn from_cli(command: Command) -> Result<Request, Error> {
    Ok(match command {
        Command::GenerateKeyPair(a) => generate_key_pair(a, |name| std::env::var(name).ok())?,
        Command::PublicKey(a) => Request::PublicKey(PublicKeyRequest {
            key: key_ref(&a.key)?,
            password: PasswordSource::EnvOrPrompt,
            outfile: a.outfile,
        }),
        Command::SignBlob(a) => sign_blob(a)?,
        Command::VerifyBlob(a) => verify_blob(a)?,
        Command::Sign(a) => sign_images(a)?,
        Command::Verify(a) => verify_images(a)?,
        Command::Upload(cli::UploadCommand::Blob(a)) => upload_blob(a)?,
    })
}

/// Validates `generate-key-pair` arguments; `env` looks up environment variables (the Action passes its
/// `secrets-token` input as `GITHUB_TOKEN` here).
pub fn generate_key_pair(
    a: cli::GenerateKeyPairArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Request, Error> {
    if a.output_key_prefix.is_empty() {
        return Err(Error::usage(
            "--output-key-prefix is empty",
            "pass a file name prefix, e.g. --output-key-prefix release",
        ));
    }
    let target = key_target(
        a.target.as_deref(),
        a.github_environment.as_deref(),
        a.github_visibility.as_deref(),
        env,
    )?;
    Ok(Request::GenerateKeyPair(GenerateKeyPair {
        prefix: a.output_key_prefix,
        force: a.force,
        password: PasswordSource::EnvOrPrompt,
        target,
    }))
}

fn image_refs(images: &[String]) -> Result<Vec<ImageRef>, Error> {
    images
        .iter()
        .map(|s| {
            s.parse::<ImageRef>()
                .map_err(|e| Error::Oci(OciError::Reference(e)))
        })
        .collect()
}

/// Registry options from the flags; the password's environment variable is read by clap.
pub fn registry_options(a: cli::RegistryArgs) -> Result<RegistryOptions, Error> {
    let password = a
        .registry_password
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    let username = a.registry_username.filter(|u| !u.is_empty());
    if username.is_some() != password.is_some() {
        return Err(Error::usage(
            "--registry-username and --registry-password go together",
            "pass both (the password may come from FERROSIGN_REGISTRY_PASSWORD), or neither to use the docker config file",
        ));
    }
    Ok(RegistryOptions {
        allow_insecure: a.allow_insecure_registry || a.allow_http_registry,
        username,
        password,
    })
}

fn sign_images(a: cli::SignArgs) -> Result<Request, Error> {
    let images = image_refs(&a.images)?;
    let annotations = parse_annotations(&a.annotations)?;
    let instance = instance(&a.sigstore)?;
    let signer = signer_spec(a.key.as_deref(), a.sigstore.identity_token, |name| {
        std::env::var(name).ok()
    })?;
    Ok(Request::SignImages(SignImages {
        images,
        signer,
        annotations,
        recursive: a.recursive,
        registry: registry_options(a.registry)?,
        instance,
        tlog_upload: a.tlog_upload,
    }))
}

fn verify_images(a: cli::VerifyArgs) -> Result<Request, Error> {
    let images = image_refs(&a.images)?;
    let annotations = parse_annotations(&a.annotations)?;
    let signer = match (a.key, keyless_policy(&a.keyless)?) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "--key and --certificate-identity/--certificate-oidc-issuer exclude each other",
                "pass --key for key signatures, or the identity flags for keyless ones",
            ))
        }
        (Some(key), None) => VerifySigner::Key(key_ref(&key)?),
        (None, Some(p)) => VerifySigner::Keyless(p),
        (None, None) => {
            return Err(Error::usage(
                "verify needs the signer: --key, or --certificate-identity and --certificate-oidc-issuer",
                "pass --key cosign.pub, or for keyless signatures --certificate-identity URL_OR_EMAIL --certificate-oidc-issuer URL",
            ))
        }
    };
    Ok(Request::VerifyImages(VerifyImages {
        images,
        signer,
        trusted_root: a.keyless.trusted_root,
        annotations,
        ignore_tlog: a.insecure_ignore_tlog,
        registry: registry_options(a.registry)?,
    }))
}

fn upload_blob(a: cli::UploadBlobArgs) -> Result<Request, Error> {
    let image = a
        .image
        .parse::<ImageRef>()
        .map_err(|e| Error::Oci(OciError::Reference(e)))?;
    if image.digest().is_some() {
        return Err(Error::usage(
            format!("cannot upload to a digest reference `{image}`"),
            "name a tag (or none, for `latest`): the digest is computed from the upload",
        ));
    }
    Ok(Request::UploadBlob(UploadBlob {
        file: a.file,
        image,
        content_type: a.content_type.filter(|c| !c.is_empty()),
        registry: registry_options(a.registry)?,
    }))
}

fn sign_blob(a: cli::SignBlobArgs) -> Result<Request, Error> {
    let instance = instance(&a.sigstore)?;
    let signer = signer_spec(a.key.as_deref(), a.sigstore.identity_token, |name| {
        std::env::var(name).ok()
    })?;
    if a.output_certificate.is_some() && matches!(signer, SignerSpec::Key { .. }) {
        return Err(Error::usage(
            "--output-certificate is for keyless signing; a key signature has no certificate",
            "drop --output-certificate, or drop --key to sign keylessly",
        ));
    }
    Ok(Request::SignBlob(SignBlob {
        file: a.file,
        signer,
        output_signature: a.output_signature,
        output_certificate: a.output_certificate,
        bundle: a.bundle,
        instance,
        tlog_upload: a.tlog_upload,
    }))
}

fn matcher(
    exact: Option<String>,
    regexp: Option<String>,
    flag: &str,
) -> Result<Option<crate::verify::Matcher>, Error> {
    use crate::verify::Matcher;
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
pub fn keyless_policy(
    a: &cli::KeylessVerifyArgs,
) -> Result<Option<crate::verify::KeylessPolicy>, Error> {
    let identity = matcher(
        a.certificate_identity.clone(),
        a.certificate_identity_regexp.clone(),
        "certificate-identity",
    )?;
    let issuer = matcher(
        a.certificate_oidc_issuer.clone(),
        a.certificate_oidc_issuer_regexp.clone(),
        "certificate-oidc-issuer",
    )?;
    match (identity, issuer) {
        (Some(identity), Some(issuer)) => Ok(Some(crate::verify::KeylessPolicy {
            identity,
            issuer,
            insecure_ignore_sct: a.insecure_ignore_sct,
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

/// The Sigstore instance from the command line: URLs checked, the trusted root's path kept.
pub fn instance(a: &cli::SigstoreArgs) -> Result<Instance, Error> {
    for (flag, url) in [
        ("--fulcio-url", &a.fulcio_url),
        ("--rekor-url", &a.rekor_url),
    ] {
        let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(Error::usage(
                format!("{flag} `{url}` is not an http(s) URL"),
                format!("pass a URL such as {flag}=https://…"),
            ));
        }
    }
    Ok(Instance {
        fulcio_url: a.fulcio_url.clone(),
        rekor_url: a.rekor_url.clone(),
        trusted_root: a.trusted_root.clone(),
        private_repository: match a.private_repository {
            cli::PrivateRepositoryArg::Warn => PrivateRepository::Warn,
            cli::PrivateRepositoryArg::Refuse => PrivateRepository::Refuse,
            cli::PrivateRepositoryArg::Allow => PrivateRepository::Allow,
        },
    })
}

/// A key (`--key`), else keyless with the token from `--identity-token`, `SIGSTORE_ID_TOKEN`, or the
/// GitHub Actions token service; in Actions without the token variables, the reason (no `id-token: write`
/// permission, or a pull request from a fork).
pub fn signer_spec(
    key: Option<&str>,
    identity_token: Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SignerSpec, Error> {
    if let Some(key) = key {
        if identity_token.is_some() {
            return Err(Error::usage(
                "--identity-token is for keyless signing, and --key was given",
                "drop one of them",
            ));
        }
        return Ok(SignerSpec::Key {
            key: key_ref(key)?,
            password: PasswordSource::EnvOrPrompt,
        });
    }
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(t) = identity_token.filter(|t| !t.trim().is_empty()) {
        return Ok(SignerSpec::Keyless(TokenSource::Given(t.into())));
    }
    if let Some(t) = env(inputs::ENV_SIGSTORE_ID_TOKEN) {
        return Ok(SignerSpec::Keyless(TokenSource::Given(t.into())));
    }
    if let (Some(url), Some(token)) = (
        env(inputs::ENV_ID_TOKEN_REQUEST_URL),
        env(inputs::ENV_ID_TOKEN_REQUEST_TOKEN),
    ) {
        return Ok(SignerSpec::Keyless(TokenSource::Actions {
            url,
            request_token: token.into(),
        }));
    }
    if env(crate::gha::ENV_GITHUB_ACTIONS).as_deref() == Some("true") {
        inputs::check_keyless_token_available(&inputs::Inputs::new(env))?;
    }
    Err(Error::usage(
        "keyless signing (without --key) needs an OIDC identity token, and there is none",
        "in GitHub Actions add `permissions: id-token: write`; elsewhere pass --identity-token (or SIGSTORE_ID_TOKEN); or sign with --key",
    ))
}

fn verify_blob(a: cli::VerifyBlobArgs) -> Result<Request, Error> {
    let policy = keyless_policy(&a.keyless)?.map(|mut p| {
        p.insecure_ignore_tlog = a.insecure_ignore_tlog;
        p
    });
    let signer = match (a.key, policy) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "--key and --certificate-identity/--certificate-oidc-issuer exclude each other",
                "pass --key for a key signature, or the identity flags for a keyless one",
            ))
        }
        (Some(key), None) => VerifySigner::Key(key_ref(&key)?),
        (None, Some(p)) => VerifySigner::Keyless(p),
        (None, None) => {
            return Err(Error::usage(
                "verify-blob needs the signer: --key, or --certificate-identity and --certificate-oidc-issuer",
                "pass --key cosign.pub, or for a keyless signature --certificate-identity URL_OR_EMAIL --certificate-oidc-issuer URL",
            ))
        }
    };
    let evidence = match (a.signature, a.bundle) {
        (Some(s), None) => BlobEvidence::Signature(s),
        (None, Some(b)) => BlobEvidence::Bundle(b),
        _ => {
            return Err(Error::usage(
                "verify-blob needs the signature: --signature or --bundle",
                "pass --signature FILE_OR_BASE64 or --bundle FILE",
            ))
        }
    };
    if matches!(signer, VerifySigner::Keyless(_)) && matches!(evidence, BlobEvidence::Signature(_))
    {
        return Err(Error::usage(
            "keyless verification needs the Sigstore bundle (certificate and log entry), not a bare signature",
            "pass --bundle FILE (written by `sign-blob --bundle`)",
        ));
    }
    Ok(Request::VerifyBlob(VerifyBlob {
        file: a.file,
        signer,
        evidence,
        trusted_root: a.keyless.trusted_root,
        ignore_tlog: a.insecure_ignore_tlog,
    }))
}

/// The default GitHub REST API base.
pub const GITHUB_API_DEFAULT: &str = "https://api.github.com";
/// The environment variable naming the GitHub REST API base (set by Actions; GitHub Enterprise Server).
pub const ENV_GITHUB_API_URL: &str = "GITHUB_API_URL";
/// The environment variable holding the token used to write Actions secrets.
pub const ENV_GITHUB_TOKEN: &str = "GITHUB_TOKEN";

const TARGET_HINT: &str =
    "pass github://OWNER/REPO, github://ORG or k8s://NAMESPACE/NAME (or nothing, to write key files)";

/// Parses `generate-key-pair`'s TARGET and its GitHub options; `env` looks up environment variables.
pub fn key_target(
    target: Option<&str>,
    environment: Option<&str>,
    visibility: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
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
            let token = env(ENV_GITHUB_TOKEN)
                .filter(|t| !t.trim().is_empty())
                .ok_or(SecretsError::NoToken)?;
            let api_url = env(ENV_GITHUB_API_URL)
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| GITHUB_API_DEFAULT.to_string());
            let api_url = api_url.trim().trim_end_matches('/').to_string();
            if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
                return Err(Error::usage(
                    format!("{ENV_GITHUB_API_URL} `{api_url}` is not an http(s) URL"),
                    format!("set {ENV_GITHUB_API_URL} to the REST API base, e.g. https://github.example.com/api/v3, or unset it for github.com"),
                ));
            }
            Ok(KeyTarget::GitHub(GitHubTarget {
                scope,
                api_url,
                token: SecretString::from(token.trim().to_string()),
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

    fn env(token: Option<&str>, api: Option<&str>) -> impl Fn(&str) -> Option<String> {
        let (token, api) = (token.map(String::from), api.map(String::from));
        move |name| match name {
            ENV_GITHUB_TOKEN => token.clone(),
            ENV_GITHUB_API_URL => api.clone(),
            _ => None,
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
        assert_eq!(g.api_url, GITHUB_API_DEFAULT);
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
        assert!(matches!(e, Error::Secrets(SecretsError::NoToken)), "{e:?}");
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
