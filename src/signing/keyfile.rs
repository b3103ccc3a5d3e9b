//! cosign's encrypted private key file and the PEM public key.
//!
//! `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----` (older files: `ENCRYPTED COSIGN PRIVATE KEY`) wraps a
//! JSON envelope: scrypt derives a 32-byte key from the password and salt, and NaCl secretbox
//! (XSalsa20-Poly1305, tag first) seals the PKCS#8 DER of the private key (any of cosign's key types;
//! go-securesystemslib `encrypted`, cosign `pkg/cosign/keys.go`).

use super::{KeyError, PrivateKey};
use crate::secret::{Secret, SecretBytes, SecretString};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// The PEM label ferrosign writes (cosign's current one).
pub(crate) const PEM_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label of keys written by older cosign releases; still read.
pub(crate) const PEM_LABEL_LEGACY: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const SCRYPT_LOG_N: u8 = 16; // N = 65536, as cosign v2.6 and v3 write it
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const TAG_LEN: usize = 16;
/// The scrypt parameters (N, r, p) read: the only ones go-securesystemslib's `encrypted.Decrypt` (what
/// cosign v2 and v3 decrypt with) accepts (docs/inputs.md §10.1). They bound a hostile file's cost to
/// 128 × r × N = 128 MiB of memory and one pass (p = 1).
pub(crate) const SCRYPT_ACCEPTED: [(u64, u32, u32); 3] =
    [(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)];

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Encrypts `key` with `password` into the PEM text of a cosign key file.
pub(crate) fn encrypt(key: &PrivateKey, password: &[u8]) -> Result<SecretString, KeyError> {
    let der = key.to_pkcs8_der()?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let box_key = derive(password, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)?;
    let cipher =
        XSalsa20Poly1305::new_from_slice(box_key.expose()).map_err(|_| KeyError::Crypto)?;
    let mut buf = der.expose().clone();
    let tag = cipher
        .encrypt_in_place_detached(&nonce.into(), b"", &mut buf)
        .map_err(|_| KeyError::Crypto)?;
    // NaCl's secretbox layout: the Poly1305 tag comes first.
    let mut sealed = tag.to_vec();
    sealed.extend_from_slice(&buf);
    let envelope = Envelope {
        kdf: Kdf {
            name: "scrypt".into(),
            params: ScryptParams {
                n: 1 << SCRYPT_LOG_N,
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: B64.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: B64.encode(nonce),
        },
        ciphertext: B64.encode(&sealed),
    };
    let json = serde_json::to_vec(&envelope).map_err(|e| KeyError::Envelope(e.to_string()))?;
    Ok(Secret::new(super::pem::encode(PEM_LABEL, &json)))
}

/// Decrypts the PEM text of a cosign key file (its first PEM block, read as cosign reads it).
pub(crate) fn decrypt(pem: &[u8], password: &[u8]) -> Result<PrivateKey, KeyError> {
    let block = super::decode_pem(pem)?;
    if block.label != PEM_LABEL && block.label != PEM_LABEL_LEGACY {
        return Err(KeyError::WrongPemType {
            found: block.label.clone(),
            expected: PEM_LABEL,
        });
    }
    let envelope: Envelope =
        serde_json::from_slice(&block.bytes).map_err(|e| KeyError::Envelope(e.to_string()))?;
    if envelope.kdf.name != "scrypt" {
        return Err(KeyError::Unsupported(format!(
            "key derivation `{}`",
            envelope.kdf.name
        )));
    }
    if envelope.cipher.name != "nacl/secretbox" {
        return Err(KeyError::Unsupported(format!(
            "cipher `{}`",
            envelope.cipher.name
        )));
    }
    let p = &envelope.kdf.params;
    // Bounds keep a hostile file from asking for gigabytes of memory or minutes of work.
    if !SCRYPT_ACCEPTED.contains(&(p.n, p.r, p.p)) {
        return Err(KeyError::Unsupported(format!(
            "scrypt parameters N={} r={} p={} (cosign reads only N=32768, 65536 or 131072 with r=8, p=1)",
            p.n, p.r, p.p
        )));
    }
    // N is a power of two (checked above), so its log fits a u8.
    let log_n = u8::try_from(p.n.trailing_zeros())
        .map_err(|_| KeyError::Unsupported(format!("scrypt parameter N={}", p.n)))?;
    let salt = b64(&envelope.kdf.salt, "salt")?;
    let nonce = b64(&envelope.cipher.nonce, "nonce")?;
    let sealed = b64(&envelope.ciphertext, "ciphertext")?;
    if nonce.len() != 24 {
        return Err(KeyError::Envelope(format!(
            "nonce is {} bytes, not 24",
            nonce.len()
        )));
    }
    if sealed.len() < TAG_LEN {
        return Err(KeyError::Envelope(
            "ciphertext is shorter than its tag".into(),
        ));
    }
    let box_key = derive(password, &salt, log_n, p.r, p.p)?;
    let cipher =
        XSalsa20Poly1305::new_from_slice(box_key.expose()).map_err(|_| KeyError::Crypto)?;
    let (tag, body) = sealed.split_at(TAG_LEN);
    let mut plain = SecretBytes::new(body.to_vec());
    let mut buf = plain.expose().clone();
    let ok = cipher
        .decrypt_in_place_detached(
            crypto_secretbox::Nonce::from_slice(&nonce),
            b"",
            &mut buf,
            crypto_secretbox::Tag::from_slice(tag),
        )
        .is_ok();
    plain = SecretBytes::new(buf);
    if !ok {
        return Err(KeyError::WrongPassword);
    }
    PrivateKey::from_pkcs8_der(plain.expose())
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, KeyError> {
    B64.decode(s.trim())
        .map_err(|e| KeyError::Envelope(format!("{what} is not base64: {e}")))
}

fn derive(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<SecretBytes, KeyError> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|e| KeyError::Unsupported(format!("scrypt parameters: {e}")))?;
    let mut out = vec![0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|e| KeyError::Unsupported(format!("scrypt: {e}")))?;
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_password() {
        for pw in [&b"correct horse"[..], b""] {
            let key = PrivateKey::generate();
            let pem = encrypt(&key, pw).unwrap();
            assert!(pem
                .expose()
                .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
            let back = decrypt(pem.expose().as_bytes(), pw).unwrap();
            assert_eq!(back.public_key().to_pem(), key.public_key().to_pem());
        }
    }

    #[test]
    fn envelope_has_cosign_parameters() {
        let pem = encrypt(&PrivateKey::generate(), b"pw").unwrap();
        let block = super::super::decode_pem(pem.expose().as_bytes()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&block.bytes).unwrap();
        assert_eq!(v["kdf"]["name"], "scrypt");
        assert_eq!(v["kdf"]["params"]["N"], 65536);
        assert_eq!(v["kdf"]["params"]["r"], 8);
        assert_eq!(v["kdf"]["params"]["p"], 1);
        assert_eq!(
            B64.decode(v["kdf"]["salt"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(v["cipher"]["name"], "nacl/secretbox");
        assert_eq!(
            B64.decode(v["cipher"]["nonce"].as_str().unwrap())
                .unwrap()
                .len(),
            24
        );
    }

    #[test]
    fn wrong_password_is_named() {
        let pem = encrypt(&PrivateKey::generate(), b"one").unwrap();
        assert!(matches!(
            decrypt(pem.expose().as_bytes(), b"two"),
            Err(KeyError::WrongPassword)
        ));
    }

    #[test]
    fn legacy_label_loads() {
        let key = PrivateKey::generate();
        let pem = encrypt(&key, b"pw").unwrap();
        let legacy = pem.expose().replace(PEM_LABEL, PEM_LABEL_LEGACY);
        assert!(decrypt(legacy.as_bytes(), b"pw").is_ok());
    }

    #[test]
    fn damaged_inputs_are_named() {
        let pem = encrypt(&PrivateKey::generate(), b"pw").unwrap();
        let text = pem.expose();
        assert!(matches!(decrypt(b"", b"pw"), Err(KeyError::Empty)));
        assert!(matches!(decrypt(b"hello", b"pw"), Err(KeyError::NotPem)));
        let truncated = &text[..text.len() / 2];
        assert!(matches!(
            decrypt(truncated.as_bytes(), b"pw"),
            Err(KeyError::Pem(_))
        ));
        let public = key_pub_pem();
        assert!(matches!(
            decrypt(public.as_bytes(), b"pw"),
            Err(KeyError::WrongPemType { .. })
        ));
    }

    fn key_pub_pem() -> String {
        PrivateKey::generate().public_key().to_pem()
    }
}
