//! The command line: cosign's verbs and flag names, parsed by clap into raw arguments that
//! [`crate::config`] validates.

use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

/// Sign container images and files so that `cosign verify` accepts them.
#[derive(Debug, Parser)]
#[command(name = "ferrosign", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs, named as cosign names them.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an encrypted P-256 key pair (cosign.key, cosign.pub) that cosign can use.
    GenerateKeyPair(GenerateKeyPairArgs),
    /// Print the public key of a private key.
    PublicKey(PublicKeyArgs),
    /// Sign a local file; prints the base64 signature.
    SignBlob(SignBlobArgs),
    /// Verify a local file's signature or Sigstore bundle.
    VerifyBlob(VerifyBlobArgs),
    /// Sign container images in a registry (cosign's `sha256-<digest>.sig` layout).
    Sign(SignArgs),
    /// Verify the signatures of container images in a registry; prints the verified payloads.
    Verify(VerifyArgs),
    /// Upload artifacts to a registry.
    #[command(subcommand)]
    Upload(UploadCommand),
}

/// How to reach registries (shared by `sign`, `verify` and `upload`).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Talk plain HTTP to the registry (only for local test registries).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub allow_insecure_registry: bool,
    /// Same as --allow-insecure-registry (cosign's name for plain HTTP).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub allow_http_registry: bool,
    /// User name for the registry (with --registry-password); otherwise the docker config file is used.
    #[arg(long, value_name = "USER")]
    pub registry_username: Option<String>,
    /// Password or token for the registry.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "FERROSIGN_REGISTRY_PASSWORD",
        hide_env_values = true
    )]
    pub registry_password: Option<String>,
}

/// `sign` (container images).
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The images: registry/name:tag or registry/name@sha256:digest (a digest is what gets signed).
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// The private key: a path or env://VAR. Its password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Extra key=value pairs to sign (repeatable; comma-separated pairs allowed).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// For an image index, also sign every manifest it lists.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Record the signature in the Rekor transparency log (use --tlog-upload=false to skip).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tlog_upload: bool,
    /// Skip confirmation prompts (accepted for cosign compatibility; ferrosign never prompts to confirm).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Keyless signing and the transparency log.
    #[command(flatten)]
    pub sigstore: SigstoreArgs,
}

/// `verify` (container images).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The images to verify.
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// The public key: a path or env://VAR.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Require these key=value annotations in the signed payload (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Do not check transparency log entries (Rekor bundles attached to the signatures).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub insecure_ignore_tlog: bool,
    /// Keyless: who must have signed, and the trust material to check it with.
    #[command(flatten)]
    pub keyless: KeylessVerifyArgs,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `upload …`.
#[derive(Debug, Subcommand)]
pub enum UploadCommand {
    /// Push a file as a one-layer OCI artifact; prints REF@digest, which can then be signed.
    Blob(UploadBlobArgs),
}

/// `upload blob`.
#[derive(Debug, Args)]
pub struct UploadBlobArgs {
    /// The file to upload.
    #[arg(short = 'f', long = "files", value_name = "FILE")]
    pub file: PathBuf,
    /// The layer's media type (default: text/plain for text, else application/octet-stream).
    #[arg(long = "ct", value_name = "MEDIA_TYPE")]
    pub content_type: Option<String>,
    /// Where to push it: registry/name[:tag].
    #[arg(value_name = "REF")]
    pub image: String,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `generate-key-pair`.
#[derive(Debug, Args)]
pub struct GenerateKeyPairArgs {
    /// Store the key pair as secrets instead of key files: github://OWNER/REPO (Actions secrets
    /// COSIGN_PASSWORD, COSIGN_PRIVATE_KEY, COSIGN_PUBLIC_KEY; token from GITHUB_TOKEN, API from
    /// GITHUB_API_URL), github://ORG (organisation secrets) or k8s://NAMESPACE/NAME (an immutable
    /// Secret, through the current kubeconfig context). The password comes from COSIGN_PASSWORD or is
    /// generated; PREFIX.pub is written locally.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// With github://OWNER/REPO: store the secrets in this deployment environment.
    #[arg(long, value_name = "ENV")]
    pub github_environment: Option<String>,
    /// With github://ORG: which repositories may read the secrets (default: private).
    #[arg(long, value_name = "VISIBILITY", value_parser = ["all", "private", "selected"])]
    pub github_visibility: Option<String>,
    /// Write PREFIX.key and PREFIX.pub instead of cosign.key and cosign.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub output_key_prefix: String,
    /// Overwrite existing key files (with a TARGET: replace an existing key pair there).
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// `public-key`.
#[derive(Debug, Args)]
pub struct PublicKeyArgs {
    /// The private key: a path or env://VAR. Its password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Write the public key to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub outfile: Option<PathBuf>,
}

/// `sign-blob`.
#[derive(Debug, Args)]
pub struct SignBlobArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// The private key: a path or env://VAR. Its password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Also write the base64 signature to this file.
    #[arg(long, value_name = "FILE")]
    pub output_signature: Option<PathBuf>,
    /// Write a Sigstore bundle (v0.3) to this file.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Keyless: also write the signing certificate (PEM) to this file.
    #[arg(long, value_name = "FILE")]
    pub output_certificate: Option<PathBuf>,
    /// Record the signature in the Rekor transparency log (use --tlog-upload=false to skip).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tlog_upload: bool,
    /// Skip confirmation prompts (accepted for cosign compatibility; ferrosign never prompts to confirm).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keyless signing and the transparency log.
    #[command(flatten)]
    pub sigstore: SigstoreArgs,
}

/// What to do in a private repository, where signing publishes the repository's identity data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PrivateRepositoryArg {
    /// warn and sign
    #[default]
    Warn,
    /// refuse to sign
    Refuse,
    /// sign without a warning
    Allow,
}

/// Keyless signing (without --key) and the transparency log: cosign's flag names.
#[derive(Debug, Args)]
pub struct SigstoreArgs {
    /// An OIDC identity token for keyless signing (default: SIGSTORE_ID_TOKEN, else, in GitHub Actions,
    /// a token requested for the job; that needs `permissions: id-token: write`).
    #[arg(long, value_name = "TOKEN")]
    pub identity_token: Option<String>,
    /// Fulcio (the certificate authority) for keyless signing.
    #[arg(long, value_name = "URL", default_value = crate::fulcio::DEFAULT_URL)]
    pub fulcio_url: String,
    /// Rekor (the transparency log).
    #[arg(long, value_name = "URL", default_value = crate::rekor::DEFAULT_URL)]
    pub rekor_url: String,
    /// The Sigstore instance's trusted root (trusted_root.json) that Fulcio's and Rekor's answers are
    /// checked against (default: the public-good instance's).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// In a private repository (token claim or event payload), signing publishes its name, workflow and
    /// commit: warn, refuse, or allow without a warning.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = PrivateRepositoryArg::Warn)]
    pub private_repository: PrivateRepositoryArg,
}

/// `verify-blob`.
#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The file whose signature to check.
    pub file: PathBuf,
    /// The public key: a path or env://VAR.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The signature: a path to a file holding it, or the base64 text itself.
    #[arg(long, value_name = "SIG", conflicts_with = "bundle")]
    pub signature: Option<String>,
    /// A Sigstore bundle (or cosign's older bundle) holding the signature.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Do not check the bundle's transparency log entries (inclusion proofs, and with --key the whole
    /// entry); keyless bundles still need a verified time (a SET or an RFC 3161 timestamp).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub insecure_ignore_tlog: bool,
    /// Keyless: who must have signed, and the trust material to check it with.
    #[command(flatten)]
    pub keyless: KeylessVerifyArgs,
}

/// Keyless verification: the expected signer and the Sigstore instance's trust material (cosign's flags).
#[derive(Debug, Args, Default)]
pub struct KeylessVerifyArgs {
    /// The identity the signing certificate must carry (its SAN), e.g.
    /// https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main
    #[arg(
        long,
        value_name = "IDENTITY",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,
    /// A regular expression the certificate's identity must match (unanchored, as in cosign).
    #[arg(long, value_name = "REGEXP")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer the signing certificate must name, e.g. https://token.actions.githubusercontent.com
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression the certificate's OIDC issuer must match (unanchored, as in cosign).
    #[arg(long, value_name = "REGEXP")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// The Sigstore instance's trusted_root.json (default: the public-good instance, embedded).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Do not check the certificate's embedded signed certificate timestamp (SCT).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}
