//! The command line: cosign's verbs and flag names, parsed by clap, then turned into one validated
//! [`Request`] by [`to_request`] (with the checks shared with the Action in [`super::validate`]).

use super::validate::{self, Setting, TargetEnv, Words};
use crate::env::{self, Env};
use crate::error::Error;
use crate::gha::Ui;
use crate::oci::{CredentialScope, RegistryOptions};
use crate::request::{
    Blob, BlobEvidence, GenerateKeyPair, ImportKeyPair, Initialize, Instance, PublicKeyRequest,
    Request, SignBlob, SignImages, SignWith, TrustSettings, UploadBlob, VerifyBlob, VerifyImages,
    VerifyWith,
};
use crate::secret::SecretString;
use crate::signing::{HashAlg, KeyRef, PasswordSource};
use clap::parser::ValueSource;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// Sign container images and files so that `cosign verify` accepts them.
#[derive(Debug, Parser)]
#[command(name = "ferrosign", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The verbs, named as cosign names them.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate an encrypted P-256 key pair (cosign.key, cosign.pub) that cosign can use.
    GenerateKeyPair(GenerateKeyPairArgs),
    /// Import a PEM private key (RSA, ECDSA or Ed25519) into cosign's encrypted key format.
    ImportKeyPair(ImportKeyPairArgs),
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
    /// Set up the TUF repository the trusted root and signing config come from (cosign's
    /// `initialize`): start its cache afresh from --root, fetch and verify both, and use --mirror from
    /// now on (TUF_MIRROR and TUF_ROOT_JSON override it per run).
    Initialize(InitializeArgs),
}

/// How to reach registries (shared by `sign`, `verify` and `upload`).
#[derive(Debug, Args)]
pub(crate) struct RegistryArgs {
    /// Accept a registry TLS certificate that does not verify (still HTTPS; for test registries).
    #[arg(long, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) allow_insecure_registry: bool,
    /// Fall back to plain HTTP when HTTPS fails (local registries — localhost:PORT, 127.0.0.1, [::1] — do
    /// without this flag).
    #[arg(long, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) allow_http_registry: bool,
    /// User name for the registry (with --registry-password); otherwise the docker config file is used.
    #[arg(long, value_name = "USER")]
    pub(crate) registry_username: Option<String>,
    /// Password or token for the registry (default: FERROSIGN_REGISTRY_PASSWORD).
    #[arg(long, value_name = "PASSWORD")]
    pub(crate) registry_password: Option<String>,
    /// cosign's cloud keychains: refused on purpose.
    #[arg(long, hide = true, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) k8s_keychain: bool,
    /// cosign's registry mTLS flags: refused on purpose.
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) registry_client_cert: Option<String>,
    /// (refused on purpose)
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) registry_client_key: Option<String>,
    /// (refused on purpose)
    #[arg(long, hide = true, value_name = "NAME")]
    pub(crate) registry_server_name: Option<String>,
}

/// `sign` (container images).
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The images: registry/name:tag or registry/name@sha256:digest (a digest is what gets signed).
    #[arg(value_name = "IMAGE", required = true)]
    pub(crate) images: Vec<String>,
    /// The private key: a path or env://VAR. Its password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub(crate) key: Option<String>,
    /// Extra key=value pairs to sign (repeatable; comma-separated pairs allowed, each split at its first
    /// `=`; quote a pair whose value has commas: -a '"k=a,b"'), as cosign reads them.
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub(crate) annotations: Vec<String>,
    /// For an image index, also sign every manifest it lists.
    #[arg(short = 'r', long, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) recursive: bool,
    /// How many images (and with --recursive, manifests of an index) to sign at once, 1 to 64
    /// (default 16). Output stays in the order the images were given.
    #[arg(long, value_name = "N")]
    pub(crate) max_workers: Option<String>,
    /// Record the signature in the Rekor transparency log (use --tlog-upload=false to skip).
    #[arg(long, default_value_t = true, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) tlog_upload: bool,
    /// Which signature layouts to write: legacy (cosign's `.sig` tag), bundle (a Sigstore bundle
    /// attached as an OCI 1.1 referrer, cosign v3's default) or both (the default: every verifier in use accepts one of them).
    #[arg(long, value_name = "legacy|bundle|both")]
    pub(crate) signature_format: Option<String>,
    /// cosign's flag: =true is --signature-format bundle, =false is --signature-format legacy.
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub(crate) new_bundle_format: Option<bool>,
    /// Skip confirmation prompts (accepted for cosign compatibility; ferrosign never prompts to confirm).
    #[arg(long, short = 'y', default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) yes: bool,
    /// cosign's `--certificate` for key signatures: refused on purpose.
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) certificate: Option<String>,
    /// cosign's `--certificate-chain`: refused on purpose.
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) certificate_chain: Option<String>,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
    /// Keyless signing and the transparency log.
    #[command(flatten)]
    pub(crate) sigstore: SigstoreArgs,
}

/// `verify` (container images).
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The images to verify.
    #[arg(value_name = "IMAGE", required = true)]
    pub(crate) images: Vec<String>,
    /// The public key: a path or env://VAR.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub(crate) key: Option<String>,
    /// Require these key=value annotations in the signed payload (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub(crate) annotations: Vec<String>,
    /// Do not check transparency log entries (Rekor bundles attached to the signatures).
    #[arg(long, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) insecure_ignore_tlog: bool,
    /// Which signature layouts to look in: legacy (cosign's `.sig` tag), bundle (a Sigstore bundle
    /// attached as an OCI 1.1 referrer, cosign v3's default) or both (the default: a signature in either counts).
    #[arg(long, value_name = "legacy|bundle|both")]
    pub(crate) signature_format: Option<String>,
    /// cosign's flag: =true is --signature-format bundle, =false is --signature-format legacy.
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub(crate) new_bundle_format: Option<bool>,
    /// The digest key signatures are checked with, as cosign's flag (cosign signs with SHA-384 for
    /// P-384 keys and SHA-512 for P-521 keys).
    #[arg(long, value_name = "ALG", default_value = "sha256",
          value_parser = ["sha224", "sha256", "sha384", "sha512"])]
    pub(crate) signature_digest_algorithm: String,
    /// cosign's `--check-claims=false`: refused on purpose.
    #[arg(long, hide = true, default_value_t = true, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) check_claims: bool,
    /// cosign's `--local-image`: refused on purpose.
    #[arg(long, hide = true, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) local_image: bool,
    /// cosign's detached `--signature`: refused on purpose.
    #[arg(long, hide = true, value_name = "SIG")]
    pub(crate) signature: Option<String>,
    /// cosign's detached `--payload`: refused on purpose.
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) payload: Option<String>,
    /// Keyless: who must have signed, and the trust material to check it with.
    #[command(flatten)]
    pub(crate) keyless: KeylessVerifyArgs,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// `upload …`.
#[derive(Debug, Subcommand)]
pub(crate) enum UploadCommand {
    /// Push a file as a one-layer OCI artifact; prints REF@digest, which can then be signed.
    Blob(UploadBlobArgs),
}

/// `upload blob`.
#[derive(Debug, Args)]
pub(crate) struct UploadBlobArgs {
    /// The file to upload.
    #[arg(short = 'f', long = "files", value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The layer's media type (default: text/plain for text, else application/octet-stream).
    #[arg(long = "ct", value_name = "MEDIA_TYPE")]
    pub(crate) content_type: Option<String>,
    /// Where to push it: registry/name[:tag].
    #[arg(value_name = "REF")]
    pub(crate) image: String,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// `generate-key-pair`.
#[derive(Debug, Args)]
pub(crate) struct GenerateKeyPairArgs {
    /// Store the key pair as secrets instead of key files: github://OWNER/REPO (Actions secrets
    /// COSIGN_PASSWORD, COSIGN_PRIVATE_KEY, COSIGN_PUBLIC_KEY; token from GITHUB_TOKEN, API from
    /// GITHUB_API_URL), github://ORG (organisation secrets) or k8s://NAMESPACE/NAME (an immutable
    /// Secret, through the current kubeconfig context). The password comes from COSIGN_PASSWORD or is
    /// generated; PREFIX.pub is written locally.
    #[arg(value_name = "TARGET")]
    pub(crate) target: Option<String>,
    /// With github://OWNER/REPO: store the secrets in this deployment environment.
    #[arg(long, value_name = "ENV")]
    pub(crate) github_environment: Option<String>,
    /// With github://ORG: which repositories may read the secrets (default: private).
    #[arg(long, value_name = "VISIBILITY", value_parser = ["all", "private", "selected"])]
    pub(crate) github_visibility: Option<String>,
    /// Write PREFIX.key and PREFIX.pub instead of cosign.key and cosign.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub(crate) output_key_prefix: String,
    /// Overwrite existing key files (with a TARGET: replace an existing key pair there).
    #[arg(long, short = 'f', default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) force: bool,
    /// Overwrite existing key files (cosign's flag; ferrosign does not prompt: -y is --force for files).
    #[arg(long, short = 'y', default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) yes: bool,
    /// cosign's KMS keys: refused on purpose.
    #[arg(long, hide = true, value_name = "URI")]
    pub(crate) kms: Option<String>,
}

/// `import-key-pair` (cosign's verb).
#[derive(Debug, Args)]
pub(crate) struct ImportKeyPairArgs {
    /// The PEM private key to import: `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC 1) or
    /// `PRIVATE KEY` (PKCS#8) holding RSA 2048/3072/4096, ECDSA P-256/P-384/P-521 or Ed25519. Its new
    /// password comes from COSIGN_PASSWORD, a prompt, or stdin.
    #[arg(short = 'k', long, value_name = "FILE")]
    pub(crate) key: String,
    /// Write PREFIX.key and PREFIX.pub.
    #[arg(
        short = 'o',
        long,
        value_name = "PREFIX",
        default_value = "import-cosign"
    )]
    pub(crate) output_key_prefix: String,
    /// Overwrite existing files.
    #[arg(long, short = 'y', default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) yes: bool,
}

/// `public-key`.
#[derive(Debug, Args)]
pub(crate) struct PublicKeyArgs {
    /// The private key: a path or env://VAR. Its password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub(crate) key: String,
    /// Write the public key to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) outfile: Option<PathBuf>,
}

/// `sign-blob`.
#[derive(Debug, Args)]
pub(crate) struct SignBlobArgs {
    /// The file to sign (`-`: stdin; the key's password then cannot come from stdin).
    pub(crate) file: PathBuf,
    /// The private key: a path or env://VAR. Its password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub(crate) key: Option<String>,
    /// Also write the signature to this file (base64; raw bytes with --b64=false).
    #[arg(long, value_name = "FILE", alias = "output")]
    pub(crate) output_signature: Option<PathBuf>,
    /// Write a Sigstore bundle (v0.3) to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) bundle: Option<PathBuf>,
    /// Keyless: also write the signing certificate (PEM) to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) output_certificate: Option<PathBuf>,
    /// Record the signature in the Rekor transparency log (use --tlog-upload=false to skip).
    #[arg(long, default_value_t = true, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) tlog_upload: bool,
    /// Print (and write) the signature in base64; --b64=false gives the raw bytes, as cosign does.
    #[arg(long, default_value_t = true, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) b64: bool,
    /// Skip confirmation prompts (accepted for cosign compatibility; ferrosign never prompts to confirm).
    #[arg(long, short = 'y', default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) yes: bool,
    /// Keyless signing and the transparency log.
    #[command(flatten)]
    pub(crate) sigstore: SigstoreArgs,
}

/// What to do in a private repository, where signing publishes the repository's identity data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PrivateRepositoryArg {
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
pub(crate) struct SigstoreArgs {
    /// An OIDC identity token for keyless signing (default: SIGSTORE_ID_TOKEN, else, in GitHub Actions,
    /// a token requested for the job; that needs `permissions: id-token: write`).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) identity_token: Option<String>,
    /// Fulcio (the certificate authority) for keyless signing (default: the signing config's).
    #[arg(long, value_name = "URL")]
    pub(crate) fulcio_url: Option<String>,
    /// Rekor (the transparency log) (default: the signing config's).
    #[arg(long, value_name = "URL")]
    pub(crate) rekor_url: Option<String>,
    /// The Rekor API version to log with, 1 or 2 (default: the highest the signing config offers;
    /// 1 with --rekor-url). Rekor v2 entries need a timestamp authority.
    #[arg(long, value_name = "VERSION")]
    pub(crate) rekor_version: Option<String>,
    /// An RFC 3161 timestamp authority to date each signature (default: the signing config's).
    #[arg(long, value_name = "URL")]
    pub(crate) timestamp_server_url: Option<String>,
    /// The Sigstore instance's trusted root (trusted_root.json) that Fulcio's, Rekor's and the TSA's
    /// answers are checked against (default: from the TUF repository; see `ferrosign initialize`).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,
    /// The Sigstore instance's signing config (signing_config.v0.2.json) naming Fulcio, Rekor and the
    /// TSA (default: from the TUF repository).
    #[arg(long, value_name = "FILE")]
    pub(crate) signing_config: Option<PathBuf>,
    /// In a private repository (token claim or event payload), signing publishes its name, workflow and
    /// commit: warn, refuse, or allow without a warning.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = PrivateRepositoryArg::Warn)]
    pub(crate) private_repository: PrivateRepositoryArg,
    /// cosign's interactive OIDC flows: refused on purpose.
    #[arg(long, hide = true, value_name = "URL")]
    pub(crate) oidc_issuer: Option<String>,
    /// (refused on purpose)
    #[arg(long, hide = true, value_name = "ID")]
    pub(crate) oidc_client_id: Option<String>,
    /// (refused on purpose)
    #[arg(long, hide = true, value_name = "FLOW")]
    pub(crate) fulcio_auth_flow: Option<String>,
    /// cosign's hardware keys: refused on purpose.
    #[arg(long, hide = true, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) sk: bool,
    /// (refused on purpose)
    #[arg(long, hide = true, value_name = "SLOT")]
    pub(crate) slot: Option<String>,
}

/// `initialize`.
#[derive(Debug, Args)]
pub(crate) struct InitializeArgs {
    /// The TUF repository's base URL (default: Sigstore's public-good repository,
    /// https://tuf-repo-cdn.sigstore.dev).
    #[arg(long, value_name = "URL")]
    pub(crate) mirror: Option<String>,
    /// The repository's TUF root.json to trust (default: the public-good root embedded in ferrosign).
    #[arg(long, value_name = "FILE")]
    pub(crate) root: Option<PathBuf>,
}

/// `verify-blob`.
#[derive(Debug, Args)]
pub(crate) struct VerifyBlobArgs {
    /// The file whose signature to check (`-`: stdin; env://VAR: the variable's value).
    pub(crate) file: PathBuf,
    /// The public key: a path or env://VAR.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub(crate) key: Option<String>,
    /// The signature: a path to a file holding it (base64, or raw bytes as `sign-blob --b64=false`
    /// writes them), env://VAR, or the base64 text itself.
    #[arg(long, value_name = "SIG", conflicts_with = "bundle")]
    pub(crate) signature: Option<String>,
    /// A Sigstore bundle (or cosign's older bundle) holding the signature.
    #[arg(long, value_name = "FILE")]
    pub(crate) bundle: Option<PathBuf>,
    /// Do not check the bundle's transparency log entries (inclusion proofs, and with --key the whole
    /// entry); keyless bundles still need a verified time (a SET or an RFC 3161 timestamp).
    #[arg(long, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) insecure_ignore_tlog: bool,
    /// The digest key signatures are checked with, as cosign's flag (cosign signs with SHA-384 for
    /// P-384 keys and SHA-512 for P-521 keys).
    #[arg(long, value_name = "ALG", default_value = "sha256",
          value_parser = ["sha224", "sha256", "sha384", "sha512"])]
    pub(crate) signature_digest_algorithm: String,
    /// cosign's detached timestamp and SCT flags: refused on purpose (bundles carry them).
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) rfc3161_timestamp: Option<String>,
    /// (refused on purpose)
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) sct: Option<String>,
    /// Keyless: who must have signed, and the trust material to check it with.
    #[command(flatten)]
    pub(crate) keyless: KeylessVerifyArgs,
}

/// Keyless verification: the expected signer and the Sigstore instance's trust material (cosign's flags).
#[derive(Debug, Args, Default)]
pub(crate) struct KeylessVerifyArgs {
    /// The identity the signing certificate must carry (its SAN), e.g.
    /// https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main
    #[arg(long, value_name = "IDENTITY")]
    pub(crate) certificate_identity: Option<String>,
    /// A regular expression the certificate's identity must match (unanchored, as in cosign).
    #[arg(long, value_name = "REGEXP")]
    pub(crate) certificate_identity_regexp: Option<String>,
    /// The OIDC issuer the signing certificate must name, e.g. https://token.actions.githubusercontent.com
    #[arg(long, value_name = "URL")]
    pub(crate) certificate_oidc_issuer: Option<String>,
    /// A regular expression the certificate's OIDC issuer must match (unanchored, as in cosign).
    #[arg(long, value_name = "REGEXP")]
    pub(crate) certificate_oidc_issuer_regexp: Option<String>,
    /// The Sigstore instance's trusted_root.json (default: from the TUF repository; see
    /// `ferrosign initialize`).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,
    /// Do not check the certificate's embedded signed certificate timestamp (SCT).
    #[arg(long, default_value_t = false, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = go_bool)]
    pub(crate) insecure_ignore_sct: bool,
}

/// A Go `strconv.ParseBool` value, which every cosign boolean flag takes (`--flag=VALUE`):
/// `1 t T TRUE true True` and `0 f F FALSE false False`.
pub(crate) fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "`{s}` is not a boolean (as cosign: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
        )),
    }
}

/// Flags cosign does not have: never taken from `COSIGN_<FLAG>`.
const OWN_FLAGS: &[&str] = &[
    "help",
    "version",
    "private-repository",
    "github-environment",
    "github-visibility",
    "force",
];

/// cosign's environment forms of its flags (`options.BindViper`: viper with the prefix `COSIGN`): a
/// flag of the verb that is not on the command line is taken from `COSIGN_<FLAG>` (upper case, `-` as
/// `_`), when that variable is set and not empty, as if `--flag=VALUE` had been given. The command line
/// wins. Returns the arguments with those flags added after the verb, and the variables used.
pub(crate) fn with_cosign_env(args: &[OsString], env: &Env<'_>) -> (Vec<OsString>, Vec<String>) {
    let Ok(matches) = Cli::command().try_get_matches_from(args) else {
        // the real parse reports the error
        return (args.to_vec(), Vec::new());
    };
    let mut command = Cli::command();
    let mut m = &matches;
    let mut depth = 0;
    while let Some((name, sub)) = m.subcommand() {
        let Some(c) = command.find_subcommand(name).cloned() else {
            break;
        };
        command = c;
        m = sub;
        depth += 1;
    }
    let mut extra = Vec::new();
    let mut used = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else {
            continue;
        };
        if OWN_FLAGS.contains(&long) || arg.is_positional() {
            continue;
        }
        if m.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
            continue;
        }
        let var = format!("COSIGN_{}", long.to_uppercase().replace('-', "_"));
        if let Some(value) = env.named(&var).filter(|v| !v.is_empty()) {
            extra.push(OsString::from(format!("--{long}={value}")));
            used.push(var);
        }
    }
    let mut out = args.to_vec();
    let at = (1 + depth).min(out.len());
    out.splice(at..at, extra);
    (out, used)
}

/// Runs the command line: parse, validate, run, render; returns the exit code.
pub(crate) fn main(args: &[OsString], env: &Env<'_>, ui: &mut Ui) -> i32 {
    let (args, from_env) = with_cosign_env(args, env);
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            if e.use_stderr() {
                ui.info(text.trim_end());
                if !from_env.is_empty() {
                    ui.info(&format!(
                        "note: flags were also taken from the environment: {}",
                        from_env.join(", ")
                    ));
                }
            } else {
                ui.data(text.trim_end());
            }
            return code;
        }
    };
    let result = to_request(cli.command, env)
        .and_then(|req| crate::run_blocking(req, ui))
        .and_then(|report| super::render::cli(report, ui));
    match result {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string(), e.hint().as_deref());
            e.exit_code()
        }
    }
}

/// The validated request for a parsed command line; `env` supplies what flags leave to the environment
/// (`COSIGN_PASSWORD`, `env://VAR` keys, tokens, `FERROSIGN_REGISTRY_PASSWORD`, the docker config).
pub(crate) fn to_request(command: Command, env: &Env<'_>) -> Result<Request, Error> {
    Ok(match command {
        Command::GenerateKeyPair(a) => generate_key_pair(a, env)?,
        Command::ImportKeyPair(a) => Request::ImportKeyPair(ImportKeyPair {
            key: KeyRef::File(PathBuf::from(&a.key)),
            prefix: non_empty_prefix(a.output_key_prefix)?,
            force: a.yes,
            password: validate::password(env),
        }),
        Command::PublicKey(a) => Request::PublicKey(PublicKeyRequest {
            key: validate::key_ref(&a.key, env)?,
            password: validate::password(env),
            outfile: a.outfile,
        }),
        Command::SignBlob(a) => sign_blob(a, env)?,
        Command::VerifyBlob(a) => verify_blob(a, env)?,
        Command::Sign(a) => sign_images(a, env)?,
        Command::Verify(a) => verify_images(a, env)?,
        Command::Upload(UploadCommand::Blob(a)) => upload_blob(a, env)?,
        Command::Initialize(a) => Request::Initialize(Initialize {
            mirror: match a.mirror {
                Some(m) => Some(validate::service_url(Words::Cli, Setting::TufMirror, &m)?),
                None => None,
            },
            root: a.root,
            cache: validate::tuf_cache(env),
        }),
    })
}

fn non_empty_prefix(prefix: String) -> Result<String, Error> {
    if prefix.is_empty() {
        // cosign writes hidden `.key`/`.pub` files (docs/inputs.md F32)
        return Err(Error::on_purpose(
            "--output-key-prefix is empty: that would write the hidden files .key and .pub",
            "pass a file name prefix, e.g. --output-key-prefix release",
        ));
    }
    Ok(prefix)
}

/// A flag ferrosign refuses on purpose (docs/inputs.md §11).
fn refuse_flag(flag: &str, why: &str, hint: &str) -> Error {
    Error::on_purpose(format!("{flag}: {why}"), hint)
}

/// Sigstore trust variables cosign reads that ferrosign does not, refused when they would matter
/// (docs/inputs.md E12, E13): set, and no --trusted-root given.
fn check_trust_env(env: &Env<'_>, trusted_root: Option<&std::path::Path>) -> Result<(), Error> {
    if trusted_root.is_some() {
        return Ok(());
    }
    for var in [
        env::SIGSTORE_ROOT_FILE,
        env::SIGSTORE_REKOR_PUBLIC_KEY,
        env::SIGSTORE_CT_LOG_PUBLIC_KEY_FILE,
        env::SIGSTORE_TSA_CERTIFICATE_FILE,
    ] {
        if env.get(var).is_some() {
            return Err(Error::on_purpose(
                format!("{} is set: it carries partial trust material (no validity windows, no log ids), which ferrosign does not read", var.name),
                "build a trusted root: cosign trusted-root create … > trusted_root.json, then pass --trusted-root trusted_root.json",
            ));
        }
    }
    Ok(())
}

fn check_registry_refusals(a: &RegistryArgs) -> Result<(), Error> {
    if a.k8s_keychain {
        return Err(refuse_flag(
            "--k8s-keychain",
            "cloud registry credential chains (ECR, GCR, ACR) are not read by ferrosign",
            "docker login (or a credential helper) first, or pass --registry-username and --registry-password",
        ));
    }
    for (flag, given) in [
        ("--registry-client-cert", &a.registry_client_cert),
        ("--registry-client-key", &a.registry_client_key),
        ("--registry-server-name", &a.registry_server_name),
    ] {
        if given.is_some() {
            return Err(refuse_flag(
                flag,
                "mutual TLS to registries is not in ferrosign's registry client",
                "sign with cosign for registries that need client certificates",
            ));
        }
    }
    Ok(())
}

fn check_sigstore_refusals(a: &SigstoreArgs) -> Result<(), Error> {
    for (flag, given) in [
        ("--oidc-issuer", a.oidc_issuer.is_some()),
        ("--oidc-client-id", a.oidc_client_id.is_some()),
        ("--fulcio-auth-flow", a.fulcio_auth_flow.is_some()),
    ] {
        if given {
            return Err(refuse_flag(
                flag,
                "interactive OIDC flows are not in ferrosign, which signs with the identity token it is given",
                "pass --identity-token TOKEN or set SIGSTORE_ID_TOKEN (in GitHub Actions the job's token is used)",
            ));
        }
    }
    if a.sk || a.slot.is_some() {
        return Err(refuse_flag(
            if a.sk { "--sk" } else { "--slot" },
            "hardware security keys need native libraries a static binary does not carry",
            "sign with cosign for hardware keys, or use a cosign key file",
        ));
    }
    Ok(())
}

fn generate_key_pair(a: GenerateKeyPairArgs, env: &Env<'_>) -> Result<Request, Error> {
    if let Some(uri) = &a.kms {
        return Err(refuse_flag(
            "--kms",
            &format!("KMS keys ({uri}) are not supported: cloud credential chains and remote signing are outside ferrosign"),
            "generate the key pair with cosign for KMS, or write cosign key files (no --kms)",
        ));
    }
    let prefix = non_empty_prefix(a.output_key_prefix)?;
    let target = validate::key_target(
        a.target.as_deref(),
        a.github_environment.as_deref(),
        a.github_visibility.as_deref(),
        TargetEnv::from_env(env),
    )?;
    // Key files get the password from COSIGN_PASSWORD, the terminal or stdin; a secret store keeps a
    // generated one (or COSIGN_PASSWORD) and never prompts.
    let files = matches!(&target, crate::request::KeyTarget::Files);
    let password = match (files, validate::password(env)) {
        (true, p) => p,
        (false, PasswordSource::Prompt) => PasswordSource::Generate,
        (false, p) => p,
    };
    Ok(Request::GenerateKeyPair(GenerateKeyPair {
        prefix,
        // cosign's -y skips its overwrite prompt: here it overwrites key files, never secrets
        force: a.force || (a.yes && files),
        password,
        target,
        prepared: None,
    }))
}

/// Registry options from the flags (the password may come from `FERROSIGN_REGISTRY_PASSWORD`).
fn registry_options(a: RegistryArgs, env: &Env<'_>) -> Result<RegistryOptions, Error> {
    check_registry_refusals(&a)?;
    let password = a
        .registry_password
        .or_else(|| env.get(env::FERROSIGN_REGISTRY_PASSWORD))
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
        allow_insecure: a.allow_insecure_registry,
        allow_http: a.allow_http_registry,
        username,
        password,
        scope: CredentialScope::Any,
        docker_config: validate::docker_config(env),
    })
}

/// The Sigstore instance from the flags: URLs checked, the trusted root's path kept.
fn instance(a: &SigstoreArgs, env: &Env<'_>) -> Result<Instance, Error> {
    check_sigstore_refusals(a)?;
    let url = |setting, value: &Option<String>| -> Result<Option<String>, Error> {
        value
            .as_deref()
            .map(|v| validate::service_url(Words::Cli, setting, v))
            .transpose()
    };
    Ok(Instance {
        fulcio_url: url(Setting::FulcioUrl, &a.fulcio_url)?,
        rekor_url: url(Setting::RekorUrl, &a.rekor_url)?,
        rekor_version: a
            .rekor_version
            .as_deref()
            .map(|v| validate::rekor_version(Words::Cli, v))
            .transpose()?,
        tsa_url: url(Setting::TimestampServerUrl, &a.timestamp_server_url)?,
        trust: validate::trust_settings(
            Words::Cli,
            a.trusted_root.clone(),
            a.signing_config.clone(),
            None,
            None,
            env,
        )?,
        private_repository: match a.private_repository {
            PrivateRepositoryArg::Warn => crate::request::PrivateRepository::Warn,
            PrivateRepositoryArg::Refuse => crate::request::PrivateRepository::Refuse,
            PrivateRepositoryArg::Allow => crate::request::PrivateRepository::Allow,
        },
        private_by_event: validate::private_by_event(env)?,
    })
}

/// Where verification's trusted root comes from: `--trusted-root`, else TUF.
fn verify_trust(trusted_root: Option<PathBuf>, env: &Env<'_>) -> Result<TrustSettings, Error> {
    validate::trust_settings(Words::Cli, trusted_root, None, None, None, env)
}

fn sign_images(a: SignArgs, env: &Env<'_>) -> Result<Request, Error> {
    for (flag, given) in [
        ("--certificate", &a.certificate),
        ("--certificate-chain", &a.certificate_chain),
    ] {
        if given.is_some() {
            return Err(refuse_flag(
                flag,
                "attaching a certificate to a key signature needs cosign's certificate and key match checks, which ferrosign does not have yet",
                "sign with the key alone, or keylessly (no --key)",
            ));
        }
    }
    let images = validate::image_refs(&a.images)?;
    let annotations = validate::cli_annotations(&a.annotations)?;
    let instance = instance(&a.sigstore, env)?;
    let sign_with = validate::sign_with(
        a.key.as_deref(),
        a.sigstore.identity_token.map(SecretString::from),
        env,
    )?;
    let format = validate::signature_format(
        Words::Cli,
        a.signature_format.as_deref(),
        a.new_bundle_format,
    )?;
    if a.tlog_upload || matches!(sign_with, SignWith::Keyless(_)) {
        check_trust_env(env, instance.trust.trusted_root.as_deref())?;
    }
    Ok(Request::SignImages(SignImages {
        images,
        sign_with,
        annotations,
        format,
        recursive: a.recursive,
        registry: registry_options(a.registry, env)?,
        instance,
        tlog_upload: a.tlog_upload,
        verify_after: false,
        keep_going: false,
        docker_media_types: validate::docker_media_types(env)?,
        max_workers: validate::max_workers(Words::Cli, a.max_workers.as_deref())?,
    }))
}

fn verify_with(
    key: Option<String>,
    keyless: &KeylessVerifyArgs,
    ignore_tlog: bool,
    verb: &str,
    env: &Env<'_>,
) -> Result<VerifyWith, Error> {
    let policy = validate::keyless_policy(
        keyless.certificate_identity.clone(),
        keyless.certificate_identity_regexp.clone(),
        keyless.certificate_oidc_issuer.clone(),
        keyless.certificate_oidc_issuer_regexp.clone(),
        keyless.insecure_ignore_sct,
    )?
    .map(|mut p| {
        p.insecure_ignore_tlog = ignore_tlog;
        p
    });
    match (key, policy) {
        (Some(_), Some(_)) => Err(Error::usage(
            "--key and --certificate-identity/--certificate-oidc-issuer exclude each other",
            "pass --key for key signatures, or the identity flags for keyless ones",
        )),
        (Some(key), None) => Ok(VerifyWith::Key(validate::key_ref(&key, env)?)),
        (None, Some(p)) => Ok(VerifyWith::Keyless(p)),
        (None, None) => Err(Error::usage(
            format!("{verb} needs the signer: --key, or --certificate-identity and --certificate-oidc-issuer"),
            "pass --key cosign.pub, or for keyless signatures --certificate-identity URL_OR_EMAIL --certificate-oidc-issuer URL",
        )),
    }
}

/// `--signature-digest-algorithm` (clap keeps it to the four names).
fn digest_alg(name: &str) -> HashAlg {
    HashAlg::parse(name).unwrap_or(HashAlg::Sha256)
}

fn verify_images(a: VerifyArgs, env: &Env<'_>) -> Result<Request, Error> {
    if !a.check_claims {
        return Err(refuse_flag(
            "--check-claims=false",
            "a signature that does not name the image proves nothing about the image",
            "drop --check-claims=false",
        ));
    }
    for (flag, given) in [
        ("--local-image", a.local_image),
        ("--signature", a.signature.is_some()),
        ("--payload", a.payload.is_some()),
    ] {
        if given {
            return Err(refuse_flag(
                flag,
                "ferrosign verifies the signatures stored in the registry, not detached or local ones",
                "push the image and its signature, then verify IMAGE; for files use verify-blob",
            ));
        }
    }
    let images = validate::image_refs(&a.images)?;
    let annotations = validate::cli_annotations(&a.annotations)?;
    // Images are checked with the tlog flag as given; a keyless image signature always needs its SET.
    let verify_with = verify_with(a.key, &a.keyless, false, "verify", env)?;
    let format = validate::signature_format(
        Words::Cli,
        a.signature_format.as_deref(),
        a.new_bundle_format,
    )?;
    if matches!(verify_with, VerifyWith::Keyless(_)) {
        check_trust_env(env, a.keyless.trusted_root.as_deref())?;
    }
    Ok(Request::VerifyImages(VerifyImages {
        images,
        verify_with,
        trust: verify_trust(a.keyless.trusted_root, env)?,
        annotations,
        ignore_tlog: a.insecure_ignore_tlog,
        format,
        digest_alg: digest_alg(&a.signature_digest_algorithm),
        registry: registry_options(a.registry, env)?,
    }))
}

fn upload_blob(a: UploadBlobArgs, env: &Env<'_>) -> Result<Request, Error> {
    let image = validate::image_refs(std::slice::from_ref(&a.image))?
        .pop()
        .ok_or_else(|| Error::usage("no reference to upload to", "pass REF"))?;
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
        registry: registry_options(a.registry, env)?,
    }))
}

/// The largest blob read from stdin or a variable: it is held in memory (cosign reads it whole too).
pub(crate) const MAX_BLOB_IN_MEMORY: u64 = 512 * 1024 * 1024;

/// FILE as cosign reads it: `-` is stdin (read whole, at most [`MAX_BLOB_IN_MEMORY`]); `env://VAR` the
/// variable's bytes (`verify-blob` only, as cosign's `LoadFileOrURL`); anything else a path.
fn blob(file: PathBuf, env: &Env<'_>, env_allowed: bool) -> Result<Blob, Error> {
    use std::io::Read;
    let text = file.to_string_lossy().into_owned();
    if text == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_BLOB_IN_MEMORY + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Read {
                path: file.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_BLOB_IN_MEMORY {
            return Err(Error::input(
                format!("stdin holds more than {MAX_BLOB_IN_MEMORY} bytes, the limit for a file read from stdin"),
                "pass the file's path instead of -",
            ));
        }
        return Ok(Blob::Bytes {
            name: "stdin".into(),
            bytes,
        });
    }
    if let (true, Some(var)) = (env_allowed, text.strip_prefix("env://")) {
        let value = env.named(var).ok_or_else(|| {
            Error::input(
                format!("environment variable {var} is not set"),
                format!("set {var} to the file's content, or pass a path"),
            )
        })?;
        return Ok(Blob::Bytes {
            name: text.clone(),
            bytes: value.into_bytes(),
        });
    }
    Ok(Blob::File(file))
}

fn sign_blob(a: SignBlobArgs, env: &Env<'_>) -> Result<Request, Error> {
    let instance = instance(&a.sigstore, env)?;
    let mut sign_with = validate::sign_with(
        a.key.as_deref(),
        a.sigstore.identity_token.map(SecretString::from),
        env,
    )?;
    let from_stdin = a.file.as_os_str() == "-";
    if let (true, SignWith::Key { password, .. }) = (from_stdin, &mut sign_with) {
        if matches!(password, PasswordSource::Prompt) {
            // stdin carries the file: the password cannot come from it too
            *password = PasswordSource::PromptNoStdin;
        }
    }
    if a.output_certificate.is_some() && matches!(sign_with, SignWith::Key { .. }) {
        // cosign silently writes nothing (docs/inputs.md F34)
        return Err(Error::on_purpose(
            "--output-certificate is for keyless signing; a key signature has no certificate, so the file would not be written",
            "drop --output-certificate, or drop --key to sign keylessly",
        ));
    }
    if a.tlog_upload || matches!(sign_with, SignWith::Keyless(_)) {
        check_trust_env(env, instance.trust.trusted_root.as_deref())?;
    }
    Ok(Request::SignBlob(SignBlob {
        file: blob(a.file, env, false)?,
        sign_with,
        output_signature: a.output_signature,
        output_certificate: a.output_certificate,
        bundle: a.bundle,
        instance,
        tlog_upload: a.tlog_upload,
        raw: !a.b64,
    }))
}

fn verify_blob(a: VerifyBlobArgs, env: &Env<'_>) -> Result<Request, Error> {
    for (flag, given) in [
        ("--rfc3161-timestamp", a.rfc3161_timestamp.is_some()),
        ("--sct", a.sct.is_some()),
    ] {
        if given {
            return Err(refuse_flag(
                flag,
                "detached timestamps and SCTs are not read: Sigstore bundles carry them (and Fulcio embeds SCTs)",
                "pass --bundle (and --insecure-ignore-sct for a CA without a CT log)",
            ));
        }
    }
    let verify_with = verify_with(
        a.key,
        &a.keyless,
        a.insecure_ignore_tlog,
        "verify-blob",
        env,
    )?;
    let evidence = match (a.signature, a.bundle) {
        (Some(s), None) => match s.strip_prefix("env://") {
            Some(var) => BlobEvidence::SignatureBytes {
                bytes: env.named_bytes(var).ok_or_else(|| {
                    Error::input(
                        format!("--signature {s}: environment variable {var} is not set"),
                        format!("set {var} to the signature (base64)"),
                    )
                })?,
            },
            None => BlobEvidence::Signature(s),
        },
        (None, Some(b)) => BlobEvidence::Bundle(b),
        _ => {
            return Err(Error::usage(
                "verify-blob needs the signature: --signature or --bundle",
                "pass --signature FILE_OR_BASE64 or --bundle FILE",
            ))
        }
    };
    if matches!(verify_with, VerifyWith::Keyless(_)) && !matches!(evidence, BlobEvidence::Bundle(_))
    {
        return Err(Error::usage(
            "keyless verification needs the Sigstore bundle (certificate and log entry), not a bare signature",
            "pass --bundle FILE (written by `sign-blob --bundle`)",
        ));
    }
    if matches!(verify_with, VerifyWith::Keyless(_)) || matches!(evidence, BlobEvidence::Bundle(_))
    {
        check_trust_env(env, a.keyless.trusted_root.as_deref())?;
    }
    Ok(Request::VerifyBlob(VerifyBlob {
        file: blob(a.file, env, true)?,
        verify_with,
        evidence,
        trust: verify_trust(a.keyless.trusted_root, env)?,
        ignore_tlog: a.insecure_ignore_tlog,
        digest_alg: digest_alg(&a.signature_digest_algorithm),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use std::collections::HashMap;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn request(args: &[&str], vars: &[(&str, &str)]) -> Result<Request, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = Env::new(move |k| map.get(k).cloned());
        let mut argv = vec!["ferrosign"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).expect("clap accepts the arguments");
        to_request(cli.command, &env)
    }

    fn kind(args: &[&str], vars: &[(&str, &str)]) -> Kind {
        match request(args, vars) {
            Ok(r) => panic!("{args:?} was accepted: {r:?}"),
            Err(e) => e.kind(),
        }
    }

    fn sign_annotations(a: &[&str]) -> BTreeMap<String, String> {
        let image = format!("127.0.0.1:5000/app@{DIGEST}");
        let mut args = vec!["sign", "--key", "k.key"];
        for v in a {
            args.extend(["-a", v]);
        }
        args.push(&image);
        match request(&args, &[]) {
            Ok(Request::SignImages(r)) => r.annotations,
            other => panic!("{other:?}"),
        }
    }

    use std::collections::BTreeMap;

    #[test]
    fn raw_arguments_to_requests() {
        let image = format!("127.0.0.1:5000/app@{DIGEST}");
        let img = image.as_str();
        assert_eq!(
            sign_annotations(&["url=https://ci.example/run?id=42", "a=1,b=2"]),
            [
                ("a", "1"),
                ("b", "2"),
                ("url", "https://ci.example/run?id=42")
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
        );
        assert_eq!(
            sign_annotations(&["\"workflow=Build, test and release\""])["workflow"],
            "Build, test and release"
        );
        assert!(matches!(
            request(&["sign", "--identity-token", "t", img], &[]),
            Ok(Request::SignImages(SignImages {
                sign_with: SignWith::Keyless(_),
                ..
            }))
        ));
        match request(
            &["sign", "--key", "k.key", "--registry-username", "u", img],
            &[("FERROSIGN_REGISTRY_PASSWORD", "pw")],
        ) {
            Ok(Request::SignImages(r)) => {
                assert_eq!(r.registry.password.unwrap().expose(), "pw");
                assert_eq!(r.registry.scope, CredentialScope::Any);
            }
            other => panic!("{other:?}"),
        }
        match request(&["sign", "--key", "env://K", img], &[("K", "PEM")]) {
            Ok(Request::SignImages(SignImages {
                sign_with: SignWith::Key { key, .. },
                ..
            })) => assert_eq!(key.to_string(), "env://K"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            request(&["verify", "--key", "k.pub", "-a", "u=a=b", img], &[]),
            Ok(Request::VerifyImages(r)) if r.annotations["u"] == "a=b"
        ));
    }

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("ferrosign")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn cosign_env_forms_of_flags() {
        let vars: HashMap<String, String> = [
            ("COSIGN_TLOG_UPLOAD", "false"),
            ("COSIGN_KEY", "env.key"),
            ("COSIGN_YES", "true"),
            ("COSIGN_RECURSIVE", ""),
            ("COSIGN_PRIVATE_REPOSITORY", "refuse"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let env = Env::new(move |k| vars.get(k).cloned());
        let (args, used) =
            with_cosign_env(&argv(&["sign-blob", "--key", "cli.key", "f.txt"]), &env);
        let Command::SignBlob(a) = Cli::try_parse_from(args).unwrap().command else {
            panic!()
        };
        // the command line wins; empty values and ferrosign's own flags are not taken
        assert_eq!(a.key.as_deref(), Some("cli.key"));
        assert!(!a.tlog_upload && a.yes);
        assert_eq!(a.sigstore.private_repository, PrivateRepositoryArg::Warn);
        assert_eq!(used, ["COSIGN_TLOG_UPLOAD", "COSIGN_YES"]);
        let (args, _) = with_cosign_env(&argv(&["sign-blob", "f.txt"]), &env);
        let Command::SignBlob(a) = Cli::try_parse_from(args).unwrap().command else {
            panic!()
        };
        assert_eq!(a.key.as_deref(), Some("env.key"));
        // nested verbs
        let vars: HashMap<String, String> =
            [("COSIGN_CT".to_string(), "text/x".to_string())].into();
        let env = Env::new(move |k| vars.get(k).cloned());
        let (args, _) = with_cosign_env(&argv(&["upload", "blob", "-f", "f", "r/x"]), &env);
        let Command::Upload(UploadCommand::Blob(a)) = Cli::try_parse_from(args).unwrap().command
        else {
            panic!()
        };
        assert_eq!(a.content_type.as_deref(), Some("text/x"));
    }

    #[test]
    fn booleans_take_go_spellings_with_equals() {
        for (v, want) in [
            ("1", true),
            ("t", true),
            ("TRUE", true),
            ("True", true),
            ("0", false),
            ("F", false),
            ("false", false),
        ] {
            let Command::SignBlob(a) =
                Cli::try_parse_from(argv(&["sign-blob", &format!("--tlog-upload={v}"), "f"]))
                    .unwrap()
                    .command
            else {
                panic!()
            };
            assert_eq!(a.tlog_upload, want, "{v}");
        }
        for bad in ["--tlog-upload=no", "--tlog-upload=off", "--yes=yes"] {
            assert!(
                Cli::try_parse_from(argv(&["sign-blob", bad, "f"])).is_err(),
                "{bad}"
            );
        }
        // `--tlog-upload false`: `false` is the file, and a second file is an error (as cosign: F5)
        assert!(Cli::try_parse_from(argv(&["sign-blob", "--tlog-upload", "false", "f"])).is_err());
        let Command::Sign(a) = Cli::try_parse_from(argv(&[
            "sign",
            "-r=false",
            "--yes=1",
            "--allow-http-registry=t",
            "x",
        ]))
        .unwrap()
        .command
        else {
            panic!()
        };
        assert!(!a.recursive && a.yes && a.registry.allow_http_registry);
    }

    #[test]
    fn refused_on_purpose_flags_say_so() {
        let image = format!("127.0.0.1:5000/app@{DIGEST}");
        let img = image.as_str();
        let cases: &[&[&str]] = &[
            &["sign", "--key", "k", "--certificate", "c.pem", img],
            &["sign", "--key", "k", "--k8s-keychain", img],
            &["sign", "--key", "k", "--registry-client-cert", "c", img],
            &[
                "sign",
                "--oidc-issuer",
                "https://x",
                "--identity-token",
                "t",
                img,
            ],
            &["sign", "--sk", img],
            &["verify", "--key", "k", "--check-claims=false", img],
            &["verify", "--key", "k", "--local-image", img],
            &[
                "verify",
                "--certificate-identity",
                "a",
                "--certificate-identity-regexp",
                "b",
                "--certificate-oidc-issuer",
                "o",
                img,
            ],
            &[
                "verify-blob",
                "--key",
                "k",
                "--signature",
                "AAAA",
                "--sct",
                "s",
                "f",
            ],
            &["generate-key-pair", "--kms", "gcpkms://x"],
            &["generate-key-pair", "--output-key-prefix", ""],
            &["sign-blob", "--key", "gitlab://p", "f"],
            &["sign-blob", "--key", "awskms://k", "f"],
            &[
                "verify-blob",
                "--key",
                "http://example.com/k.pub",
                "--signature",
                "AAAA",
                "f",
            ],
            &["sign", "--key", "k", "-a", "=v", img],
        ];
        for args in cases {
            let e = request(args, &[]).unwrap_err();
            assert!(
                e.to_string().contains("refused on purpose"),
                "{args:?}: {e}"
            );
            assert_eq!(e.exit_code(), 2, "{args:?}");
            assert!(e.hint().is_some(), "{args:?}");
        }
        // cosign's partial trust variables, when trust material would be read
        let e = request(
            &["sign-blob", "--key", "k", "f"],
            &[("SIGSTORE_ROOT_FILE", "/x.pem")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("SIGSTORE_ROOT_FILE"), "{e}");
        assert!(request(
            &["sign-blob", "--key", "k", "--tlog-upload=false", "f"],
            &[("SIGSTORE_ROOT_FILE", "/x.pem")],
        )
        .is_ok());
    }

    #[test]
    fn raw_arguments_to_error_kinds() {
        let image = format!("127.0.0.1:5000/app@{DIGEST}");
        let img = image.as_str();
        let usage: &[&[&str]] = &[
            &["sign", "--key", "k", "-a", "novalue", img],
            &["sign", "--key", "k", "-a", "x=\"a,b\"", img],
            &["sign", "--key", "k", "UPPER/Case"],
            &["sign", "--key", "k", "--fulcio-url", "ftp://x", img],
            &["sign", "--key", "k", "--identity-token", "t", img],
            &["sign", "--key", "k", "--registry-username", "u", img],
            &["verify", img],
            &[
                "verify",
                "--key",
                "k",
                "--certificate-identity",
                "i",
                "--certificate-oidc-issuer",
                "o",
                img,
            ],
            &[
                "verify",
                "--certificate-identity-regexp",
                "(",
                "--certificate-oidc-issuer",
                "o",
                img,
            ],
            &["verify-blob", "--key", "k.pub", "f.txt"],
            &["generate-key-pair", "gitlab://acme/app"],
            &["generate-key-pair", "k8s://Default/x"],
            &["generate-key-pair", "--output-key-prefix", ""],
            &["upload", "blob", "-f", "f", img],
        ];
        for args in usage {
            assert_eq!(kind(args, &[]), Kind::Usage, "{args:?}");
        }
        let input: &[&[&str]] = &[
            &["sign", "--key", "env://UNSET", img],
            &["sign", img],
            &["generate-key-pair", "github://acme/app"],
        ];
        for args in input {
            assert_eq!(kind(args, &[]), Kind::Input, "{args:?}");
        }
        // In Actions without the token variables, the reason is the missing permission.
        let e = request(&["sign", img], &[("GITHUB_ACTIONS", "true")]).unwrap_err();
        assert!(e.hint().unwrap().contains("id-token: write"), "{e}");
    }
}
