//! `generate-key-pair` (to key files, or through [`super::provision`] to a secret store),
//! `import-key-pair` and `public-key`.

use crate::error::Error;
use crate::fsutil::{write_atomic, Staged};
use crate::gha::Ui;
use crate::secret::{SecretBytes, SecretString};
use crate::signing::source::Password;
use crate::signing::{keyfile, KeyRef, PasswordSource, PrivateKey, PublicKey};
use crate::stores::github::GitHubTarget;
use crate::stores::kubernetes::K8sTarget;
use std::path::PathBuf;

/// `generate-key-pair`.
#[derive(Debug)]
pub(crate) struct GenerateKeyPair {
    /// `PREFIX.key` / `PREFIX.pub` (with a secrets target only `PREFIX.pub` is written)
    pub(crate) prefix: String,
    /// overwrite existing files (and, with a secrets target, existing secrets)
    pub(crate) force: bool,
    /// the new key's password: given, prompted for (files), or generated (secret stores)
    pub(crate) password: PasswordSource,
    /// files, or a secret store
    pub(crate) target: KeyTarget,
    /// a key pair already made (and masked) with the password of `password`, by a front-end that must
    /// mask every secret before any other output (the Action); `None`: made when needed
    pub(crate) prepared: Option<NewKeyPair>,
}

/// Where `generate-key-pair` stores the new key pair.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum KeyTarget {
    /// `PREFIX.key` and `PREFIX.pub` in the working directory.
    Files,
    /// GitHub Actions secrets `COSIGN_PASSWORD`, `COSIGN_PRIVATE_KEY`, `COSIGN_PUBLIC_KEY`.
    GitHub(GitHubTarget),
    /// An immutable Kubernetes Secret with `cosign.key`, `cosign.pub`, `cosign.password`.
    Kubernetes(K8sTarget),
}

/// What `generate-key-pair` made.
#[derive(Debug, Clone)]
pub(crate) struct KeyPairReport {
    /// the public key, PEM
    pub(crate) public_pem: String,
}

/// `public-key`.
#[derive(Debug)]
pub(crate) struct PublicKeyRequest {
    /// the private key
    pub(crate) key: KeyRef,
    /// its password
    pub(crate) password: PasswordSource,
    /// write here instead of reporting it
    pub(crate) outfile: Option<PathBuf>,
}

/// What `public-key` found.
#[derive(Debug, Clone)]
pub(crate) struct PublicKeyReport {
    /// the public key, PEM
    pub(crate) pem: String,
    /// the file it was written to, if asked
    pub(crate) outfile: Option<PathBuf>,
}

/// A freshly generated key pair, encrypted.
#[derive(Debug)]
pub(crate) struct NewKeyPair {
    /// PEM of the encrypted private key (secret).
    pub(crate) private_pem: SecretString,
    /// PEM of the public key.
    pub(crate) public: PublicKey,
}

/// Generates a P-256 key and encrypts it with `password`.
pub(crate) fn new_key_pair(password: &SecretBytes) -> Result<NewKeyPair, Error> {
    encrypt_pair(&PrivateKey::generate(), password)
}

/// Encrypts `key` with `password` into cosign's key file format.
fn encrypt_pair(key: &PrivateKey, password: &SecretBytes) -> Result<NewKeyPair, Error> {
    let private_pem = keyfile::encrypt(key, password.expose())
        .map_err(|e| Error::key("cannot encrypt the private key", e))?;
    Ok(NewKeyPair {
        private_pem,
        public: key.public_key(),
    })
}

/// Masks a password in Action output (only text can be masked; a non-UTF-8 one never appears in it).
pub(crate) fn mask_password(password: &Password, ui: &mut Ui) {
    if let Some(p) = password.as_str() {
        ui.mask(p);
    }
}

/// `import-key-pair` (cosign's verb, `pkg/cosign/keys.go` `ImportKeyPair`).
#[derive(Debug)]
pub(crate) struct ImportKeyPair {
    /// the PEM private key to import (`-k/--key`): RSA (PKCS#1 or PKCS#8), ECDSA (SEC 1 or PKCS#8) or
    /// Ed25519 (PKCS#8), unencrypted
    pub(crate) key: KeyRef,
    /// `PREFIX.key` / `PREFIX.pub` (cosign's default prefix: `import-cosign`)
    pub(crate) prefix: String,
    /// overwrite existing files (`-y/--yes`)
    pub(crate) force: bool,
    /// the password to encrypt it with
    pub(crate) password: PasswordSource,
}

/// `generate-key-pair`: key files, or a secret store.
pub(crate) async fn generate_key_pair(
    req: &GenerateKeyPair,
    ui: &mut Ui,
) -> Result<KeyPairReport, Error> {
    match &req.target {
        KeyTarget::Files => generate_files(req, ui),
        KeyTarget::GitHub(t) => super::provision::github(req, t, ui).await,
        KeyTarget::Kubernetes(t) => super::provision::kubernetes(req, t, ui).await,
    }
}

/// A new key in `PREFIX.key` and `PREFIX.pub`.
fn generate_files(req: &GenerateKeyPair, ui: &mut Ui) -> Result<KeyPairReport, Error> {
    check_files(&req.prefix, req.force, "--force")?;
    let password = req
        .password
        .get(true, ui)
        .map_err(|e| Error::key("cannot get a password for the new key", e))?;
    mask_password(&password, ui);
    let pair = match &req.prepared {
        Some(p) => NewKeyPair {
            private_pem: p.private_pem.clone(),
            public: p.public.clone(),
        },
        None => new_key_pair(&password.bytes)?,
    };
    write_pair(&req.prefix, &pair, req.force, "--force", ui)
}

/// Refuses to overwrite `PREFIX.key` / `PREFIX.pub` unless `force` (`flag` names the option).
fn check_files(prefix: &str, force: bool, flag: &str) -> Result<(), Error> {
    if force {
        return Ok(());
    }
    for p in [format!("{prefix}.key"), format!("{prefix}.pub")] {
        let p = PathBuf::from(p);
        if p.exists() {
            return Err(Error::Exists {
                path: p,
                hint: format!("pass {flag} to overwrite it"),
            });
        }
    }
    Ok(())
}

/// Writes `PREFIX.key` (0600) and `PREFIX.pub`, both or neither; without `force`, created exclusively
/// (`flag` names the option that overwrites).
fn write_pair(
    prefix: &str,
    pair: &NewKeyPair,
    force: bool,
    flag: &str,
    ui: &mut Ui,
) -> Result<KeyPairReport, Error> {
    let key_path = PathBuf::from(format!("{prefix}.key"));
    let pub_path = PathBuf::from(format!("{prefix}.pub"));
    ui.mask(pair.private_pem.expose());
    let io = |context, path: &PathBuf| {
        let path = path.clone();
        move |source| Error::Io {
            context,
            path,
            source,
        }
    };
    let public_pem = pair.public.to_pem();
    let key_file = Staged::write(&key_path, pair.private_pem.expose().as_bytes(), 0o600)
        .map_err(io("cannot write", &key_path))?;
    let pub_file = Staged::write(&pub_path, public_pem.as_bytes(), 0o644)
        .map_err(io("cannot write", &pub_path))?;
    if force {
        key_file.commit().map_err(io("cannot write", &key_path))?;
        pub_file.commit().map_err(io("cannot write", &pub_path))?;
    } else {
        // Claimed create-exclusive, the private key first: of concurrent runs on one prefix exactly one
        // gets the key file, and the others stop before touching the public key.
        let exists = |path: &PathBuf| {
            let path = path.clone();
            move |source: std::io::Error| match source.kind() {
                std::io::ErrorKind::AlreadyExists => Error::Exists {
                    path,
                    hint: format!("pass {flag} to overwrite it"),
                },
                _ => Error::Io {
                    context: "cannot write",
                    path,
                    source,
                },
            }
        };
        key_file.commit_new().map_err(exists(&key_path))?;
        if let Err(e) = pub_file.commit_new().map_err(exists(&pub_path)) {
            // both or neither: the key file just claimed is ours to take back
            let _ = std::fs::remove_file(&key_path);
            return Err(e);
        }
    }
    ui.info(&format!("Private key written to {}", key_path.display()));
    ui.info(&format!("Public key written to {}", pub_path.display()));
    Ok(KeyPairReport { public_pem })
}

/// `import-key-pair`: reads a PEM private key, checks it against cosign's key policy, and writes it
/// encrypted as `PREFIX.key` with `PREFIX.pub` beside it (the files cosign's own import writes).
pub(crate) fn import_key_pair(req: &ImportKeyPair, ui: &mut Ui) -> Result<KeyPairReport, Error> {
    check_files(&req.prefix, req.force, "-y (--yes)")?;
    let text = req
        .key
        .read()
        .map_err(|e| Error::key(format!("cannot import the private key from {}", req.key), e))?;
    let key = PrivateKey::from_import_pem(text.expose())
        .map_err(|e| Error::key(format!("cannot import the private key from {}", req.key), e))?;
    let password = req
        .password
        .get(true, ui)
        .map_err(|e| Error::key("cannot get a password for the imported key", e))?;
    mask_password(&password, ui);
    let pair = encrypt_pair(&key, &password.bytes)?;
    ui.info(&format!("Importing a {} key", key.algorithm()));
    write_pair(&req.prefix, &pair, req.force, "-y (--yes)", ui)
}

/// The public key of a private key (written to `outfile` when given).
pub(crate) fn public_key(req: &PublicKeyRequest, ui: &mut Ui) -> Result<PublicKeyReport, Error> {
    let key = req
        .key
        .load_private(&req.password, ui)
        .map_err(|e| Error::key(format!("cannot load the private key from {}", req.key), e))?;
    let pem = key.public_key().to_pem();
    if let Some(path) = &req.outfile {
        write_atomic(path, pem.as_bytes()).map_err(|source| Error::Io {
            context: "cannot write",
            path: path.clone(),
            source,
        })?;
        ui.info(&format!("Public key written to {}", path.display()));
    }
    Ok(PublicKeyReport {
        pem,
        outfile: req.outfile.clone(),
    })
}
