//! Keys and signatures: cosign's key file format, where keys and passwords come from, and ECDSA P-256
//! signing and verification (SHA-256, ASN.1 DER signatures).

pub(crate) mod dsse;
pub(crate) mod keyfile;
pub(crate) mod payload;
pub(crate) mod source;
pub(crate) mod statement;

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, ObjectIdentifier};
use rand_core::OsRng;
use sha2::{Digest, Sha256};

pub(crate) use source::{KeyRef, PasswordSource};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

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
    /// A key reference scheme ferrosign does not read keys from.
    #[error("key references of the form `{0}` are not supported")]
    UnsupportedRef(String),
    /// No password given and no terminal to ask on.
    #[error("no password for the private key: COSIGN_PASSWORD is not set and there is no terminal to ask on")]
    NoPassword,
    /// The two typed passwords differ.
    #[error("the passwords do not match")]
    PasswordMismatch,
}

impl KeyError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        Some(match self {
            KeyError::Empty => "the secret or file holding the key is empty: check that the secret exists and is passed to this step (forks get no secrets)".into(),
            KeyError::NotPem | KeyError::Pem(_) | KeyError::Envelope(_) => {
                "the key was truncated or altered: copy the whole file, from -----BEGIN to -----END".into()
            }
            KeyError::WrongPemType { found, .. } if found.contains("PUBLIC") => {
                "that is a public key: sign with the private key (cosign.key), verify with the public key (cosign.pub)".into()
            }
            KeyError::WrongPemType { found, .. } if found.contains("PRIVATE") => {
                "use a key made by `cosign generate-key-pair` or `ferrosign generate-key-pair` (or import it with `cosign import-key-pair`)".into()
            }
            KeyError::WrongPemType { .. } => "pass a cosign key file (cosign.key) or public key (cosign.pub)".into(),
            KeyError::Unsupported(_) => "ferrosign signs with ECDSA P-256 keys, as `cosign generate-key-pair` makes them".into(),
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
            KeyError::Pkcs8(_) | KeyError::Crypto => return None,
        })
    }
}

/// Accepts id-ecPublicKey on P-256 only, naming anything else.
pub(crate) fn check_algorithm(
    alg: ObjectIdentifier,
    param: Option<ObjectIdentifier>,
) -> Result<(), KeyError> {
    let name = |oid: &str| -> String {
        match oid {
            "1.2.840.113549.1.1.1" => "RSA".into(),
            "1.3.101.112" => "Ed25519".into(),
            "1.3.132.0.34" => "curve P-384".into(),
            "1.3.132.0.35" => "curve P-521".into(),
            "1.3.132.0.10" => "curve secp256k1".into(),
            other => format!("OID {other}"),
        }
    };
    if alg != OID_EC_PUBLIC_KEY {
        return Err(KeyError::Unsupported(format!(
            "key algorithm {}",
            name(&alg.to_string())
        )));
    }
    match param {
        Some(p) if p == OID_P256 => Ok(()),
        Some(p) => Err(KeyError::Unsupported(name(&p.to_string()))),
        None => Err(KeyError::Unsupported("EC key without a named curve".into())),
    }
}

/// An ECDSA P-256 private key. Zeroized on drop; never printed.
#[derive(Clone)]
pub(crate) struct PrivateKey(SigningKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// A fresh random key from the operating system's generator.
    pub(crate) fn generate() -> Self {
        PrivateKey(SigningKey::random(&mut OsRng))
    }

    /// Parses PKCS#8 DER (P-256 only).
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        keyfile::signing_key_from_pkcs8(der).map(PrivateKey)
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    /// The matching public key.
    pub(crate) fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// Signs `message` (hashed with SHA-256); returns the ASN.1 DER signature.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: Signature = self.0.sign(message);
        sig.to_der().as_bytes().to_vec()
    }

    /// Signs a SHA-256 digest computed elsewhere (e.g. of a streamed file); DER signature.
    pub(crate) fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
        let sig: Signature = self.0.sign_prehash(digest).map_err(|_| KeyError::Crypto)?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// An ECDSA P-256 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a PEM `PUBLIC KEY` (PKIX) block.
    pub(crate) fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = keyfile::decode_pem(text)?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::WrongPemType {
                found: label,
                expected: "PUBLIC KEY",
            });
        }
        Self::from_der(der.expose())
    }

    /// Parses PKIX SubjectPublicKeyInfo DER.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = p256::pkcs8::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| KeyError::Pkcs8(e.to_string()))?;
        check_algorithm(spki.algorithm.oid, spki.algorithm.parameters_oid().ok())?;
        VerifyingKey::from_public_key_der(der)
            .map(PublicKey)
            .map_err(|e| KeyError::Pkcs8(e.to_string()))
    }

    /// PKIX DER.
    pub(crate) fn to_der(&self) -> Vec<u8> {
        // Encoding a valid P-256 point as SPKI cannot fail; an empty result would fail every verifier.
        self.0
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// PEM `PUBLIC KEY`, as cosign writes `cosign.pub`.
    pub(crate) fn to_pem(&self) -> String {
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.to_der())
            .unwrap_or_default()
    }

    /// Hex SHA-256 of the DER public key: how the summary and logs name a key.
    pub(crate) fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.to_der()))
    }

    /// Verifies a DER signature over `message` (SHA-256).
    pub(crate) fn verify(&self, message: &[u8], signature_der: &[u8]) -> Result<(), KeyError> {
        let sig = parse_signature(signature_der)?;
        self.0
            .verify(message, &sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Verifies a DER signature over a SHA-256 digest.
    pub(crate) fn verify_digest(
        &self,
        digest: &[u8; 32],
        signature_der: &[u8],
    ) -> Result<(), KeyError> {
        let sig = parse_signature(signature_der)?;
        self.0
            .verify_prehash(digest, &sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

fn parse_signature(der: &[u8]) -> Result<Signature, KeyError> {
    Signature::from_der(der)
        .map_err(|_| KeyError::MalformedSignature("not an ASN.1 DER ECDSA signature".into()))
}

/// SHA-256 of a reader's bytes, streamed.
pub(crate) fn sha256_reader(mut r: impl std::io::Read) -> std::io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_message_and_digest_agree() {
        let k = PrivateKey::generate();
        let msg = b"hello";
        let d: [u8; 32] = Sha256::digest(msg).into();
        let s1 = k.sign(msg);
        let s2 = k.sign_digest(&d).unwrap();
        let p = k.public_key();
        p.verify(msg, &s1).unwrap();
        p.verify_digest(&d, &s2).unwrap();
        p.verify(msg, &s2).unwrap();
        assert!(matches!(
            p.verify(b"other", &s1),
            Err(KeyError::BadSignature)
        ));
        assert!(matches!(
            p.verify(msg, b"junk"),
            Err(KeyError::MalformedSignature(_))
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
}
