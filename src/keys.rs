//! `generate-key-pair` (to files) and `public-key`.

use crate::config::{GenerateKeyPair, PublicKeyRequest};
use crate::error::Error;
use crate::fsutil::{write_atomic, Staged};
use crate::gha::Ui;
use crate::secret::SecretString;
use crate::signing::{keyfile, PrivateKey, PublicKey};
use std::path::PathBuf;

/// A freshly generated key pair, encrypted.
pub struct NewKeyPair {
    /// PEM of the encrypted private key (secret).
    pub private_pem: SecretString,
    /// PEM of the public key.
    pub public: PublicKey,
}

/// Generates a P-256 key and encrypts it with `password`.
pub fn new_key_pair(password: &SecretString) -> Result<NewKeyPair, Error> {
    let key = PrivateKey::generate();
    let private_pem = keyfile::encrypt(&key, password.expose().as_bytes())
        .map_err(|e| Error::key("cannot encrypt the new private key", e))?;
    Ok(NewKeyPair {
        private_pem,
        public: key.public_key(),
    })
}

/// Writes `PREFIX.key` (0600) and `PREFIX.pub`, both or neither.
pub fn generate_key_pair(req: &GenerateKeyPair, ui: &mut Ui) -> Result<(), Error> {
    let key_path = PathBuf::from(format!("{}.key", req.prefix));
    let pub_path = PathBuf::from(format!("{}.pub", req.prefix));
    if !req.force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(Error::Exists(p.clone()));
            }
        }
    }
    let password = req
        .password
        .get(true)
        .map_err(|e| Error::key("cannot get a password for the new key", e))?;
    ui.mask(password.expose());
    let pair = new_key_pair(&password)?;
    ui.mask(pair.private_pem.expose());
    let io = |context, path: &PathBuf| {
        let path = path.clone();
        move |source| Error::Io {
            context,
            path,
            source,
        }
    };
    let key_file = Staged::write(&key_path, pair.private_pem.expose().as_bytes(), 0o600)
        .map_err(io("cannot write", &key_path))?;
    let pub_file = Staged::write(&pub_path, pair.public.to_pem().as_bytes(), 0o644)
        .map_err(io("cannot write", &pub_path))?;
    key_file.commit().map_err(io("cannot write", &key_path))?;
    pub_file.commit().map_err(io("cannot write", &pub_path))?;
    ui.info(&format!("Private key written to {}", key_path.display()));
    ui.info(&format!("Public key written to {}", pub_path.display()));
    Ok(())
}

/// Prints (or writes) the public key of a private key.
pub fn public_key(req: &PublicKeyRequest, ui: &mut Ui) -> Result<(), Error> {
    let key = req
        .key
        .load_private(&req.password)
        .map_err(|e| Error::key(format!("cannot load the private key from {}", req.key), e))?;
    let pem = key.public_key().to_pem();
    match &req.outfile {
        Some(path) => {
            write_atomic(path, pem.as_bytes()).map_err(|source| Error::Io {
                context: "cannot write",
                path: path.clone(),
                source,
            })?;
            ui.info(&format!("Public key written to {}", path.display()));
        }
        None => ui.data(pem.trim_end()),
    }
    Ok(())
}
