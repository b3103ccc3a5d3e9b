//! Keys and signatures: cosign's key file format, where keys and passwords come from, PEM as cosign
//! reads it, and the key types and signature schemes cosign uses ([`keys`]: ECDSA P-256/P-384/P-521,
//! RSA PKCS#1 v1.5, Ed25519).

pub(crate) mod dsse;
pub(crate) mod keyfile;
pub(crate) mod keys;
pub(crate) mod payload;
pub(crate) mod pem;
pub(crate) mod source;
pub(crate) mod statement;

pub(crate) use keys::{Algorithm, Digest, HashAlg, PrivateKey, PublicKey};
pub(crate) use source::{KeyRef, PasswordSource};

/// What can go wrong reading, decrypting or using a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum KeyError {
    /// The key text is empty.
    #[error("the key is empty")]
    Empty,
    /// Key text (PEM) where a reference (a path or `env://VAR`) was expected; never echoed, it is secret.
    #[error("the key reference holds the key itself (PEM text), not a path or env://VAR; it is not shown")]
    TextNotReference,
    /// The text has no PEM `-----BEGIN` line.
    #[error("the key is not PEM text (no -----BEGIN line)")]
    NotPem,
    /// The PEM block is damaged (truncated, bad base64, mismatched labels).
    #[error("the key's PEM block is damaged: {0}")]
    Pem(String),
    /// A PEM block of another type.
    #[error("the PEM block is `{found}`, not `{expected}`")]
    WrongPemType {
        /// the label found
        found: String,
        /// the label wanted
        expected: &'static str,
    },
    /// The encrypted key's JSON envelope is damaged.
    #[error("the encrypted key is damaged: {0}")]
    Envelope(String),
    /// A key derivation, cipher, algorithm or curve ferrosign does not support.
    #[error("unsupported {0}")]
    Unsupported(String),
    /// The password does not open the key (or the ciphertext was altered).
    #[error("wrong password for the private key (or the key file was altered)")]
    WrongPassword,
    /// The decrypted key is not valid PKCS#8 / SPKI.
    #[error("the key is not a valid PKCS#8/PKIX key: {0}")]
    Pkcs8(String),
    /// A cryptographic primitive failed.
    #[error("a cryptographic operation failed")]
    Crypto,
    /// A signature is not valid base64 or DER.
    #[error("the signature is malformed: {0}")]
    MalformedSignature(String),
    /// The signature does not verify with this key over this data.
    #[error("the signature does not match the data and public key")]
    BadSignature,
    /// The key file does not exist.
    #[error("no such file")]
    NotFound,
    /// The key file exists but cannot be read.
    #[error("cannot read it: {0}")]
    Unreadable(String),
    /// `env://VAR` names a variable that is not set.
    #[error("environment variable {0} is not set")]
    EnvUnset(String),
    /// A key reference cosign refuses too, with what to do.
    #[error("{message}")]
    BadRef {
        /// what is wrong
        message: String,
        /// what to do
        hint: String,
    },
    /// A key reference scheme ferrosign does not read keys from.
    #[error("key references of the form `{0}` are not supported")]
    UnsupportedRef(String),
    /// No password given, no terminal to ask on, and no pipe or file on stdin to read it from.
    #[error("no password for the private key: COSIGN_PASSWORD is not set, and stdin is neither a terminal to ask on nor a pipe or file to read it from")]
    NoPassword,
    /// The two typed passwords differ.
    #[error("the passwords do not match")]
    PasswordMismatch,
    /// The password read from stdin does not open the key, and it ends with a newline.
    #[error("wrong password for the private key (the password read from stdin ends with a newline, which is part of it)")]
    WrongPasswordNewline,
    /// The password would come from stdin, which carries the file to sign.
    #[error("no password for the private key: COSIGN_PASSWORD is not set, and stdin carries the file (`-`)")]
    NoPasswordStdinTaken,
    /// A key file larger than any key.
    #[error("it is larger than {}, the limit for key files (a key is at most a few KiB)", crate::fsutil::size_text(*limit))]
    TooLarge {
        /// the limit, in bytes
        limit: u64,
    },
    /// A PEM block `import-key-pair` cannot import (cosign's "unsupported private key").
    #[error("unsupported private key: the PEM block is `{0}`")]
    Import(String),
    /// Something ferrosign refuses on purpose (docs/inputs.md §11), with what to do instead.
    #[error("{message} (refused on purpose)")]
    OnPurpose {
        /// what is refused, and why
        message: String,
        /// what to do instead
        hint: String,
    },
}

impl KeyError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        Some(match self {
            KeyError::Empty => "the secret or file holding the key is empty: check that the secret exists and is passed to this step (forks get no secrets)".into(),
            KeyError::NotPem | KeyError::Pem(_) | KeyError::Envelope(_) => {
                "the key was truncated or altered: copy the whole file, from -----BEGIN to -----END".into()
            }
            KeyError::WrongPemType { found, expected } if *expected == "PUBLIC KEY" && found.contains("PRIVATE") => {
                "that is a private key: verify with the public key (cosign.pub; `ferrosign public-key --key cosign.key` prints it)".into()
            }
            KeyError::WrongPemType { found, expected } if *expected == "PUBLIC KEY" && found == "CERTIFICATE" => {
                "a certificate is not a key: verify keyless signatures with --certificate-identity and --certificate-oidc-issuer, or pass the public key (cosign.pub) as --key".into()
            }
            KeyError::WrongPemType { found, .. } if found.contains("PUBLIC") => {
                "that is a public key: sign with the private key (cosign.key), verify with the public key (cosign.pub)".into()
            }
            KeyError::WrongPemType { found, .. } if found.contains("PRIVATE") => {
                "that is a plain private key: put it into cosign's encrypted format first with `ferrosign import-key-pair --key FILE` (or cosign import-key-pair)".into()
            }
            KeyError::WrongPemType { .. } => "pass a cosign key file (cosign.key) or public key (cosign.pub)".into(),
            KeyError::Unsupported(_) => format!("{}; make one with `ferrosign generate-key-pair` or import one with `ferrosign import-key-pair`", keys::KEY_TYPES),
            KeyError::WrongPassword => "set COSIGN_PASSWORD to the password the key was created with".into(),
            KeyError::MalformedSignature(_) => "pass the base64 signature text (as `sign-blob` prints it) or a file holding it".into(),
            KeyError::BadSignature => "check that the public key, the signature and the file belong together".into(),
            KeyError::NotFound => "check the path, or make a key pair with `ferrosign generate-key-pair`".into(),
            KeyError::Unreadable(_) => "check the file's permissions".into(),
            KeyError::EnvUnset(v) => format!("set {v} to the PEM text of the key (in a workflow: `env: {v}: ${{{{ secrets.{v} }}}}`)"),
            KeyError::UnsupportedRef(_) => "pass a file path or env://VARIABLE".into(),
            KeyError::TextNotReference => "put the PEM text in an environment variable and use `env://VAR` (in a workflow: `env: COSIGN_PRIVATE_KEY: ${{ secrets.COSIGN_PRIVATE_KEY }}` with key `env://COSIGN_PRIVATE_KEY`)".into(),
            KeyError::NoPassword => "set COSIGN_PASSWORD (it may be empty: COSIGN_PASSWORD=)".into(),
            KeyError::PasswordMismatch => "type the same password twice".into(),
            KeyError::WrongPasswordNewline => "the newline read from stdin is part of the password, as in cosign: pipe it with printf, not echo (or set COSIGN_PASSWORD)".into(),
            KeyError::NoPasswordStdinTaken => "set COSIGN_PASSWORD (it may be empty: COSIGN_PASSWORD=)".into(),
            KeyError::TooLarge { .. } => "pass the key file itself (cosign.key or cosign.pub)".into(),
            KeyError::Import(label) if label == "ENCRYPTED PRIVATE KEY" => "decrypt it first: openssl pkcs8 -in KEY -out plain.pem (import-key-pair then encrypts it with COSIGN_PASSWORD)".into(),
            KeyError::Import(label) if label.contains("OPENSSH") => "convert it to PKCS#8 first: ssh-keygen -p -m PKCS8 -f KEY".into(),
            KeyError::Import(_) => "pass a PEM `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` or `RSA PRIVATE KEY`, as cosign import-key-pair takes".into(),
            KeyError::OnPurpose { hint, .. } | KeyError::BadRef { hint, .. } => hint.clone(),
            KeyError::Pkcs8(_) | KeyError::Crypto => return None,
        })
    }
}

/// The first PEM block of `text`, read as cosign reads it (Go's `pem.Decode`, [`pem`]).
pub(crate) fn decode_pem(text: &[u8]) -> Result<pem::Block, KeyError> {
    if text.trim_ascii().is_empty() {
        return Err(KeyError::Empty);
    }
    match pem::decode(text) {
        Some((block, _)) => Ok(block),
        None if text.windows(11).any(|w| w == b"-----BEGIN ") => Err(KeyError::Pem(
            "no complete PEM block (truncated, bad base64, or END label differs from BEGIN)".into(),
        )),
        None => Err(KeyError::NotPem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    #[test]
    fn sign_and_verify_message_and_digest_agree() {
        let k = PrivateKey::generate();
        let msg = b"hello";
        let d: [u8; 32] = Sha256::digest(msg).into();
        let s1 = k.sign(msg).unwrap();
        let s2 = k.sign_prehash(&Digest::sha256(d)).unwrap();
        let p = k.public_key();
        p.verify(msg, &s1).unwrap();
        p.verify_digest(&d, &s2).unwrap();
        p.verify(msg, &s2).unwrap();
        assert!(matches!(
            p.verify(b"other", &s1),
            Err(KeyError::BadSignature)
        ));
        assert!(matches!(
            p.verify(msg, b"odd"),
            Err(KeyError::MalformedSignature(_))
        ));
        // an even number of bytes reads as IEEE P1363 r‖s (as sigstore's verifier does): no match
        assert!(matches!(
            p.verify(msg, b"junk"),
            Err(KeyError::BadSignature)
        ));
    }

    #[test]
    fn public_pem_round_trip() {
        let p = PrivateKey::generate().public_key();
        let pem = p.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), p);
        assert_eq!(p.fingerprint().len(), 64);
    }

    #[test]
    fn pem_errors_are_named() {
        assert!(matches!(decode_pem(b" \n"), Err(KeyError::Empty)));
        assert!(matches!(decode_pem(b"hello"), Err(KeyError::NotPem)));
        assert!(matches!(
            decode_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA"),
            Err(KeyError::Pem(_))
        ));
    }
}
