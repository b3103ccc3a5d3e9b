//! The key types cosign signs and verifies with, and the signature schemes it uses for each
//! (docs/inputs.md §10.2–10.3; sigstore/sigstore v1.10.3 `pkg/signature`, `pkg/cryptoutils`):
//!
//! | key | cosign signs with | cosign verifies with (`--key`) |
//! |---|---|---|
//! | ECDSA P-256 | SHA-256, ASN.1 DER | `--signature-digest-algorithm` (default SHA-256); DER or IEEE P1363 `r‖s` |
//! | ECDSA P-384 | SHA-384, DER | same |
//! | ECDSA P-521 | SHA-512, DER | same |
//! | RSA 2048/3072/4096 | RSASSA-PKCS1-v1_5, SHA-256 (never PSS) | PKCS#1 v1.5 with the flag's digest |
//! | Ed25519 | Ed25519ph (images; blobs with a log entry), pure Ed25519 (v3 blobs without a log) | pure Ed25519 only |
//!
//! ECDSA and Ed25519 go through RustCrypto (`p256`, `p384`, `p521`, `ed25519-dalek`). RSA goes through
//! `aws-lc-rs` (already linked for TLS): the RustCrypto `rsa` crate carries an unpatched timing advisory
//! (RUSTSEC-2023-0071) for private-key operations, which signing is.

use super::KeyError;
use crate::secret::SecretBytes;
use aws_lc_rs::signature as lc;
use ecdsa_sig::signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
use ed25519_dalek::{Signer as _, Verifier as _};
use pkcs8::der::asn1::{BitStringRef, OctetString};
use pkcs8::der::{Decode, Encode};
use pkcs8::{AlgorithmIdentifierRef, ObjectIdentifier, PrivateKeyInfo};
use rand_core::OsRng;
use sha2::Digest as _;

use p256::ecdsa as ecdsa_sig;

/// An ECDSA signature of curve module `$m`: ASN.1 DER, else IEEE P1363 (see [`p1363_fixed`]).
macro_rules! ecdsa_signature {
    ($m:ident, $bytes:expr, $size:expr) => {
        match $m::ecdsa::Signature::from_der($bytes) {
            Ok(s) => Ok(s),
            Err(_) => {
                $m::ecdsa::Signature::from_slice(&p1363_fixed($bytes, $size)?).map_err(|_| {
                    KeyError::MalformedSignature(
                        "the ECDSA signature's r or s is out of range".into(),
                    )
                })
            }
        }
    };
}

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_P224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.33");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The RSA sizes cosign accepts (`cryptoutils/goodkey.go` and `GetDefaultPublicKeyDetails`), in bits.
pub(crate) const RSA_SIZES: [usize; 3] = [2048, 3072, 4096];

/// The key types cosign uses, for hints.
pub(crate) const KEY_TYPES: &str =
    "cosign's key types are ECDSA P-256/P-384/P-521, RSA 2048/3072/4096 and Ed25519";

/// A digest algorithm as cosign names it (`--signature-digest-algorithm`, hashedrekord
/// `data.hash.algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum HashAlg {
    /// SHA-224
    Sha224,
    /// SHA-256 (cosign's default)
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl HashAlg {
    /// `sha256` etc.: cosign's flag values and Rekor's `data.hash.algorithm`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            HashAlg::Sha224 => "sha224",
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    /// The Sigstore bundle's `messageDigest.algorithm` (`SHA2_256`, …).
    pub(crate) fn bundle_name(self) -> &'static str {
        match self {
            HashAlg::Sha224 => "SHA2_224",
            HashAlg::Sha256 => "SHA2_256",
            HashAlg::Sha384 => "SHA2_384",
            HashAlg::Sha512 => "SHA2_512",
        }
    }

    /// Parses cosign's flag values `sha224`, `sha256`, `sha384`, `sha512`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            HashAlg::Sha224,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }

    /// The digest of `data`.
    pub(crate) fn digest(self, data: &[u8]) -> Digest {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finish()
    }
}

/// A streaming hasher for one [`HashAlg`].
#[derive(Clone)]
pub(crate) enum Hasher {
    /// SHA-224
    Sha224(sha2::Sha224),
    /// SHA-256
    Sha256(sha2::Sha256),
    /// SHA-384
    Sha384(sha2::Sha384),
    /// SHA-512
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher.
    pub(crate) fn new(alg: HashAlg) -> Self {
        match alg {
            HashAlg::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            HashAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlg::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlg::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds bytes.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest.
    pub(crate) fn finish(self) -> Digest {
        let (alg, bytes) = match self {
            Hasher::Sha224(h) => (HashAlg::Sha224, h.finalize().to_vec()),
            Hasher::Sha256(h) => (HashAlg::Sha256, h.finalize().to_vec()),
            Hasher::Sha384(h) => (HashAlg::Sha384, h.finalize().to_vec()),
            Hasher::Sha512(h) => (HashAlg::Sha512, h.finalize().to_vec()),
        };
        Digest { alg, bytes }
    }
}

/// A digest and the algorithm that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Digest {
    /// the algorithm
    pub(crate) alg: HashAlg,
    /// the digest bytes (28, 32, 48 or 64)
    pub(crate) bytes: Vec<u8>,
}

impl Digest {
    /// Wraps a SHA-256 digest computed elsewhere.
    pub(crate) fn sha256(bytes: [u8; 32]) -> Self {
        Digest {
            alg: HashAlg::Sha256,
            bytes: bytes.to_vec(),
        }
    }

    /// Hex, as Rekor's `data.hash.value`.
    pub(crate) fn hex(&self) -> String {
        hex::encode(&self.bytes)
    }
}

/// The digest of a reader's bytes, streamed.
pub(crate) fn digest_reader(alg: HashAlg, mut r: impl std::io::Read) -> std::io::Result<Digest> {
    let mut h = Hasher::new(alg);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// What kind of key, for messages and for choosing the scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// ECDSA on NIST P-256
    P256,
    /// ECDSA on NIST P-384
    P384,
    /// ECDSA on NIST P-521
    P521,
    /// RSA of this many bits
    Rsa(usize),
    /// Ed25519
    Ed25519,
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Algorithm::P256 => f.write_str("ECDSA P-256"),
            Algorithm::P384 => f.write_str("ECDSA P-384"),
            Algorithm::P521 => f.write_str("ECDSA P-521"),
            Algorithm::Rsa(bits) => write!(f, "RSA-{bits}"),
            Algorithm::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

impl Algorithm {
    /// The digest cosign signs with for this key type (sigstore's `GetDefaultPublicKeyDetails`):
    /// SHA-256 for P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521 (and Ed25519ph).
    pub(crate) fn signing_hash(self) -> HashAlg {
        match self {
            Algorithm::P256 | Algorithm::Rsa(_) => HashAlg::Sha256,
            Algorithm::P384 => HashAlg::Sha384,
            Algorithm::P521 | Algorithm::Ed25519 => HashAlg::Sha512,
        }
    }
}

/// Names an algorithm OID for messages.
fn oid_name(oid: ObjectIdentifier) -> String {
    match oid {
        OID_RSA => "RSA".into(),
        OID_RSA_PSS => "RSA-PSS".into(),
        OID_ED25519 => "Ed25519".into(),
        OID_P224 => "curve P-224".into(),
        OID_P256 => "curve P-256".into(),
        OID_P384 => "curve P-384".into(),
        OID_P521 => "curve P-521".into(),
        OID_SECP256K1 => "curve secp256k1".into(),
        other => format!("OID {other}"),
    }
}

/// The error for an EC curve other than P-256/P-384/P-521. P-224 is refused on purpose (cosign
/// verifies it, but no cosign signer makes it and it gives 112-bit strength).
fn unsupported_curve(curve: Option<ObjectIdentifier>) -> KeyError {
    match curve {
        Some(OID_P224) => KeyError::OnPurpose {
            message: "unsupported curve P-224".into(),
            hint: format!(
                "{KEY_TYPES} (P-224 gives 112-bit strength, and cosign cannot make such keys)"
            ),
        },
        Some(c) => KeyError::Unsupported(oid_name(c)),
        None => KeyError::Unsupported("EC key without a named curve".into()),
    }
}

// ---------------------------------------------------------------------------------------------------
// Private keys

enum Inner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Rsa(Box<RsaPrivate>),
    Ed25519(ed25519_dalek::SigningKey),
}

struct RsaPrivate {
    pair: lc::RsaKeyPair,
    /// PKCS#1 `RSAPrivateKey` DER, kept to write the key again (`import-key-pair`)
    pkcs1: SecretBytes,
    public: PublicKey,
}

/// A private key of one of cosign's types. Zeroized on drop; never printed.
pub(crate) struct PrivateKey(Inner);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.algorithm())
    }
}

impl PrivateKey {
    /// A fresh ECDSA P-256 key from the operating system's generator (what `generate-key-pair` makes,
    /// and the ephemeral key of keyless signing).
    pub(crate) fn generate() -> Self {
        PrivateKey(Inner::P256(p256::ecdsa::SigningKey::random(&mut OsRng)))
    }

    /// The key type.
    pub(crate) fn algorithm(&self) -> Algorithm {
        match &self.0 {
            Inner::P256(_) => Algorithm::P256,
            Inner::P384(_) => Algorithm::P384,
            Inner::P521(_) => Algorithm::P521,
            Inner::Rsa(k) => k.public.algorithm(),
            Inner::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Parses PKCS#8 DER (the plaintext of a cosign key file): RSA, ECDSA P-256/P-384/P-521 or Ed25519,
    /// with cosign's key policy (RSA 2048/3072/4096 bits, exponent 65537).
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = PrivateKeyInfo::try_from(der).map_err(|e| KeyError::Pkcs8(e.to_string()))?;
        match info.algorithm.oid {
            OID_RSA => Self::from_pkcs1_der(info.private_key),
            OID_EC => {
                let curve = info.algorithm.parameters_oid().ok();
                Self::from_ec(curve, |c| ec_from_pkcs8(c, der))
            }
            OID_ED25519 => {
                let seed = OctetString::from_der(info.private_key)
                    .map_err(|e| KeyError::Pkcs8(format!("Ed25519 private key: {e}")))?;
                let seed: zeroize::Zeroizing<[u8; 32]> =
                    zeroize::Zeroizing::new(seed.as_bytes().try_into().map_err(|_| {
                        KeyError::Pkcs8("an Ed25519 private key is 32 bytes".into())
                    })?);
                Ok(PrivateKey(Inner::Ed25519(
                    ed25519_dalek::SigningKey::from_bytes(&seed),
                )))
            }
            OID_RSA_PSS => Err(KeyError::Unsupported(
                "key algorithm RSA-PSS (cosign signs RSA as PKCS#1 v1.5 and cannot import RSA-PSS keys)"
                    .into(),
            )),
            other => Err(KeyError::Unsupported(format!(
                "key algorithm {}",
                oid_name(other)
            ))),
        }
    }

    /// Parses a PKCS#1 `RSAPrivateKey` (DER), with cosign's size and exponent rules.
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed = pkcs1::RsaPrivateKey::try_from(der)
            .map_err(|e| KeyError::Pkcs8(format!("RSA: {e}")))?;
        let public = PublicKey::from_rsa_components(
            parsed.modulus.as_bytes(),
            parsed.public_exponent.as_bytes(),
        )?;
        let pair = lc::RsaKeyPair::from_der(der)
            .map_err(|e| KeyError::Pkcs8(format!("RSA private key rejected: {e}")))?;
        Ok(PrivateKey(Inner::Rsa(Box::new(RsaPrivate {
            pair,
            pkcs1: SecretBytes::new(der.to_vec()),
            public,
        }))))
    }

    /// Parses a SEC 1 `ECPrivateKey` (DER, as in `EC PRIVATE KEY` PEM); its curve comes from its
    /// parameters.
    pub(crate) fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed = sec1_parameters(der)?;
        Self::from_ec(parsed, |c| ec_from_sec1(c, der))
    }

    fn from_ec(
        curve: Option<ObjectIdentifier>,
        load: impl Fn(ObjectIdentifier) -> Result<Inner, String>,
    ) -> Result<Self, KeyError> {
        match curve {
            Some(c @ (OID_P256 | OID_P384 | OID_P521)) => {
                load(c).map(PrivateKey).map_err(KeyError::Pkcs8)
            }
            other => Err(unsupported_curve(other)),
        }
    }

    /// The PEM text a user hands to `import-key-pair`, read as cosign's `ImportKeyPair` does: the FIRST
    /// PEM block, by label: `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC 1) or `PRIVATE KEY`
    /// (PKCS#8). Anything else — an `ENCRYPTED PRIVATE KEY`, an OpenSSH key — is refused, as cosign
    /// refuses it.
    pub(crate) fn from_import_pem(text: &[u8]) -> Result<Self, KeyError> {
        let (block, _) = super::pem::decode(text).ok_or(if text.trim_ascii().is_empty() {
            KeyError::Empty
        } else {
            KeyError::NotPem
        })?;
        match block.label.as_str() {
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.bytes),
            "EC PRIVATE KEY" => Self::from_sec1_der(&block.bytes),
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.bytes),
            other => Err(KeyError::Import(other.to_string())),
        }
    }

    /// PKCS#8 DER as Go's `x509.MarshalPKCS8PrivateKey` writes it (what cosign encrypts into
    /// `cosign.key`): version 1, no attributes; RSA with `rsaEncryption` + NULL around the PKCS#1 key;
    /// ECDSA with the named curve and a SEC 1 key without parameters; Ed25519 as the 32-byte seed.
    pub(crate) fn to_pkcs8_der(&self) -> Result<SecretBytes, KeyError> {
        let fail = |e: &dyn std::fmt::Display| KeyError::Pkcs8(e.to_string());
        let doc = match &self.0 {
            Inner::P256(k) => pkcs8::EncodePrivateKey::to_pkcs8_der(k).map_err(|e| fail(&e))?,
            Inner::P384(k) => pkcs8::EncodePrivateKey::to_pkcs8_der(k).map_err(|e| fail(&e))?,
            Inner::P521(k) => {
                let secret = p521::SecretKey::from_bytes(&k.to_bytes()).map_err(|e| fail(&e))?;
                pkcs8::EncodePrivateKey::to_pkcs8_der(&secret).map_err(|e| fail(&e))?
            }
            Inner::Rsa(k) => {
                let info = PrivateKeyInfo {
                    algorithm: AlgorithmIdentifierRef {
                        oid: OID_RSA,
                        parameters: Some(pkcs8::der::asn1::AnyRef::NULL),
                    },
                    private_key: k.pkcs1.expose(),
                    public_key: None,
                };
                return info.to_der().map(SecretBytes::new).map_err(|e| fail(&e));
            }
            Inner::Ed25519(k) => {
                let seed = zeroize::Zeroizing::new(
                    OctetString::new(k.to_bytes().to_vec())
                        .and_then(|o| o.to_der())
                        .map_err(|e| fail(&e))?,
                );
                let info = PrivateKeyInfo {
                    algorithm: AlgorithmIdentifierRef {
                        oid: OID_ED25519,
                        parameters: None,
                    },
                    private_key: &seed,
                    public_key: None,
                };
                return info.to_der().map(SecretBytes::new).map_err(|e| fail(&e));
            }
        };
        Ok(SecretBytes::new(doc.as_bytes().to_vec()))
    }

    /// The matching public key.
    pub(crate) fn public_key(&self) -> PublicKey {
        PublicKey(match &self.0 {
            Inner::P256(k) => Public::P256(*k.verifying_key()),
            Inner::P384(k) => Public::P384(*k.verifying_key()),
            Inner::P521(k) => {
                Public::P521(p521::PublicKey::from_secret_scalar(k.as_nonzero_scalar()))
            }
            Inner::Rsa(k) => return k.public.clone(),
            Inner::Ed25519(k) => Public::Ed25519(k.verifying_key()),
        })
    }

    /// The digest cosign signs with for this key (see [`Algorithm::signing_hash`]).
    pub(crate) fn signing_hash(&self) -> HashAlg {
        self.algorithm().signing_hash()
    }

    /// Signs `message` the way cosign does for this key type: hashed with [`Self::signing_hash`]
    /// (ECDSA → ASN.1 DER, RSA → PKCS#1 v1.5); Ed25519 signs the message itself (pure Ed25519).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        if let Inner::Ed25519(k) = &self.0 {
            return Ok(k.sign(message).to_bytes().to_vec());
        }
        self.sign_prehash(&self.signing_hash().digest(message))
    }

    /// Signs a digest computed elsewhere (e.g. of a streamed file). Ed25519 cannot: it signs messages.
    pub(crate) fn sign_prehash(&self, digest: &Digest) -> Result<Vec<u8>, KeyError> {
        let d = digest.bytes.as_slice();
        match &self.0 {
            Inner::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign_prehash(d).map_err(|_| KeyError::Crypto)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            Inner::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign_prehash(d).map_err(|_| KeyError::Crypto)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            Inner::P521(k) => {
                let s: p521::ecdsa::Signature = k
                    .sign_prehash_with_rng(&mut OsRng, d)
                    .map_err(|_| KeyError::Crypto)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            Inner::Rsa(k) => {
                let (enc, alg): (&'static dyn lc::RsaEncoding, _) = match digest.alg {
                    HashAlg::Sha256 => (&lc::RSA_PKCS1_SHA256, &aws_lc_rs::digest::SHA256),
                    HashAlg::Sha384 => (&lc::RSA_PKCS1_SHA384, &aws_lc_rs::digest::SHA384),
                    HashAlg::Sha512 => (&lc::RSA_PKCS1_SHA512, &aws_lc_rs::digest::SHA512),
                    HashAlg::Sha224 => {
                        return Err(KeyError::Unsupported("RSA signatures with SHA-224".into()))
                    }
                };
                let digest = aws_lc_rs::digest::Digest::import_less_safe(d, alg)
                    .map_err(|_| KeyError::Crypto)?;
                let mut sig = vec![0u8; k.pair.public_modulus_len()];
                k.pair
                    .sign_digest(enc, &digest, &mut sig)
                    .map_err(|_| KeyError::Crypto)?;
                Ok(sig)
            }
            Inner::Ed25519(_) => Err(KeyError::Unsupported(
                "pre-hashed signing with an Ed25519 key".into(),
            )),
        }
    }
}

fn ec_from_pkcs8(curve: ObjectIdentifier, der: &[u8]) -> Result<Inner, String> {
    use pkcs8::DecodePrivateKey;
    Ok(match curve {
        OID_P256 => {
            Inner::P256(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| e.to_string())?)
        }
        OID_P384 => {
            Inner::P384(p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| e.to_string())?)
        }
        _ => {
            let secret = p521::SecretKey::from_pkcs8_der(der).map_err(|e| e.to_string())?;
            Inner::P521(
                p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes())
                    .map_err(|e| e.to_string())?,
            )
        }
    })
}

fn ec_from_sec1(curve: ObjectIdentifier, der: &[u8]) -> Result<Inner, String> {
    Ok(match curve {
        OID_P256 => Inner::P256(
            p256::SecretKey::from_sec1_der(der)
                .map_err(|e| e.to_string())?
                .into(),
        ),
        OID_P384 => Inner::P384(
            p384::SecretKey::from_sec1_der(der)
                .map_err(|e| e.to_string())?
                .into(),
        ),
        _ => {
            let secret = p521::SecretKey::from_sec1_der(der).map_err(|e| e.to_string())?;
            Inner::P521(
                p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes())
                    .map_err(|e| e.to_string())?,
            )
        }
    })
}

/// The named curve of a SEC 1 `ECPrivateKey`.
fn sec1_parameters(der: &[u8]) -> Result<Option<ObjectIdentifier>, KeyError> {
    let key = sec1::EcPrivateKey::try_from(der)
        .map_err(|e| KeyError::Pkcs8(format!("EC private key: {e}")))?;
    Ok(key.parameters.and_then(|p| p.named_curve()))
}

// ---------------------------------------------------------------------------------------------------
// Public keys

#[derive(Clone, PartialEq, Eq)]
enum Public {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::PublicKey),
    Rsa {
        /// PKCS#1 `RSAPublicKey` DER
        pkcs1: Vec<u8>,
        bits: usize,
    },
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A public key of one of cosign's types.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublicKey(Public);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({}, sha256:{})",
            self.algorithm(),
            self.fingerprint()
        )
    }
}

impl PublicKey {
    #[cfg(test)]
    /// Parses the first PEM block of `text` (Go's rules, [`super::pem`]): `PUBLIC KEY` (PKIX) or
    /// `RSA PUBLIC KEY` (PKCS#1), as cosign's `UnmarshalPEMToPublicKey` does.
    pub(crate) fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::from_pem_bytes(text.as_bytes())
    }

    /// [`Self::from_pem`] on bytes.
    pub(crate) fn from_pem_bytes(text: &[u8]) -> Result<Self, KeyError> {
        let block = super::decode_pem(text)?;
        match block.label.as_str() {
            "PUBLIC KEY" => Self::from_der(&block.bytes),
            "RSA PUBLIC KEY" => {
                let k = pkcs1::RsaPublicKey::try_from(block.bytes.as_slice())
                    .map_err(|e| KeyError::Pkcs8(format!("RSA public key: {e}")))?;
                Self::from_rsa_components(k.modulus.as_bytes(), k.public_exponent.as_bytes())
            }
            other => Err(KeyError::WrongPemType {
                found: other.to_string(),
                expected: "PUBLIC KEY",
            }),
        }
    }

    /// Parses PKIX SubjectPublicKeyInfo DER.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = pkcs8::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| KeyError::Pkcs8(e.to_string()))?;
        let point = spki.subject_public_key.raw_bytes();
        let bad = |e: &dyn std::fmt::Display| KeyError::Pkcs8(e.to_string());
        Ok(PublicKey(match spki.algorithm.oid {
            OID_EC => match spki.algorithm.parameters_oid().ok() {
                Some(OID_P256) => Public::P256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| bad(&e))?,
                ),
                Some(OID_P384) => Public::P384(
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| bad(&e))?,
                ),
                Some(OID_P521) => {
                    Public::P521(p521::PublicKey::from_sec1_bytes(point).map_err(|e| bad(&e))?)
                }
                other => return Err(unsupported_curve(other)),
            },
            OID_RSA => {
                let k = pkcs1::RsaPublicKey::try_from(point)
                    .map_err(|e| KeyError::Pkcs8(format!("RSA public key: {e}")))?;
                return Self::from_rsa_components(
                    k.modulus.as_bytes(),
                    k.public_exponent.as_bytes(),
                );
            }
            OID_ED25519 => {
                let bytes: [u8; 32] = point
                    .try_into()
                    .map_err(|_| KeyError::Pkcs8("an Ed25519 public key is 32 bytes".into()))?;
                Public::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|e| bad(&e))?,
                )
            }
            other => {
                return Err(KeyError::Unsupported(format!(
                    "key algorithm {}",
                    oid_name(other)
                )))
            }
        }))
    }

    /// An RSA public key from its modulus and exponent (big-endian), with cosign's sizes and e = 65537.
    fn from_rsa_components(modulus: &[u8], exponent: &[u8]) -> Result<Self, KeyError> {
        let modulus = strip_zeros(modulus);
        let bits = match modulus.first() {
            Some(&b) => modulus.len() * 8 - b.leading_zeros() as usize,
            None => 0,
        };
        if !RSA_SIZES.contains(&bits) {
            return Err(KeyError::Unsupported(format!(
                "RSA key size {bits} bits (cosign takes 2048, 3072 or 4096)"
            )));
        }
        if strip_zeros(exponent) != [1, 0, 1] {
            return Err(KeyError::Unsupported(
                "RSA public exponent (cosign takes 65537 only)".into(),
            ));
        }
        let pkcs1 = pkcs1::RsaPublicKey {
            modulus: pkcs1::UintRef::new(modulus).map_err(|e| KeyError::Pkcs8(e.to_string()))?,
            public_exponent: pkcs1::UintRef::new(&[1, 0, 1])
                .map_err(|e| KeyError::Pkcs8(e.to_string()))?,
        }
        .to_der()
        .map_err(|e| KeyError::Pkcs8(e.to_string()))?;
        Ok(PublicKey(Public::Rsa { pkcs1, bits }))
    }

    /// The key type.
    pub(crate) fn algorithm(&self) -> Algorithm {
        match &self.0 {
            Public::P256(_) => Algorithm::P256,
            Public::P384(_) => Algorithm::P384,
            Public::P521(_) => Algorithm::P521,
            Public::Rsa { bits, .. } => Algorithm::Rsa(*bits),
            Public::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// PKIX SubjectPublicKeyInfo DER (as Go's `x509.MarshalPKIXPublicKey` writes it).
    pub(crate) fn to_der(&self) -> Vec<u8> {
        use pkcs8::EncodePublicKey;
        // Encoding a parsed, valid key cannot fail; an empty result would fail every verifier.
        let doc = match &self.0 {
            Public::P256(k) => k.to_public_key_der().ok(),
            Public::P384(k) => k.to_public_key_der().ok(),
            Public::P521(k) => k.to_public_key_der().ok(),
            Public::Ed25519(k) => k.to_public_key_der().ok(),
            Public::Rsa { pkcs1, .. } => {
                let Ok(bits) = BitStringRef::from_bytes(pkcs1) else {
                    return Vec::new();
                };
                return pkcs8::SubjectPublicKeyInfoRef {
                    algorithm: AlgorithmIdentifierRef {
                        oid: OID_RSA,
                        parameters: Some(pkcs8::der::asn1::AnyRef::NULL),
                    },
                    subject_public_key: bits,
                }
                .to_der()
                .unwrap_or_default();
            }
        };
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// PEM `PUBLIC KEY`, as cosign writes `cosign.pub` (64-column lines).
    pub(crate) fn to_pem(&self) -> String {
        super::pem::encode("PUBLIC KEY", &self.to_der())
    }

    /// Hex SHA-256 of the DER public key: how the summary and logs name a key.
    pub(crate) fn fingerprint(&self) -> String {
        hex::encode(sha2::Sha256::digest(self.to_der()))
    }

    #[cfg(test)]
    /// Verifies a signature over `message` with cosign's default digest (SHA-256), as `cosign verify
    /// --key` does; Ed25519 is pure Ed25519 over the message.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        self.verify_with(HashAlg::Sha256, message, signature)
    }

    /// Verifies a signature over `message` hashed with `hash` (`--signature-digest-algorithm`); Ed25519
    /// ignores `hash` (pure Ed25519, as cosign's verifier).
    pub(crate) fn verify_with(
        &self,
        hash: HashAlg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        if let Public::Ed25519(k) = &self.0 {
            let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| {
                KeyError::MalformedSignature("an Ed25519 signature is 64 bytes".into())
            })?;
            return k.verify(message, &sig).map_err(|_| KeyError::BadSignature);
        }
        self.verify_prehash(&hash.digest(message), signature)
    }

    #[cfg(test)]
    /// Verifies a signature over a SHA-256 digest.
    pub(crate) fn verify_digest(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        self.verify_prehash(&Digest::sha256(*digest), signature)
    }

    /// Verifies a signature over a digest computed elsewhere. ECDSA signatures may be ASN.1 DER or
    /// IEEE P1363 `r‖s` (sigstore's `ecdsa.go`: P1363 when DER parsing fails, even length ≤ 132).
    /// Ed25519 cannot verify a digest (it needs the message).
    pub(crate) fn verify_prehash(&self, digest: &Digest, signature: &[u8]) -> Result<(), KeyError> {
        let d = ecdsa_prehash(&self.0, &digest.bytes);
        let d = d.as_slice();
        let bad = |_| KeyError::BadSignature;
        match &self.0 {
            Public::P256(k) => {
                let s: p256::ecdsa::Signature = ecdsa_signature!(p256, signature, 32)?;
                k.verify_prehash(d, &s).map_err(bad)
            }
            Public::P384(k) => {
                let s: p384::ecdsa::Signature = ecdsa_signature!(p384, signature, 48)?;
                k.verify_prehash(d, &s).map_err(bad)
            }
            Public::P521(k) => {
                let s: p521::ecdsa::Signature = ecdsa_signature!(p521, signature, 66)?;
                p521::ecdsa::VerifyingKey::from_affine(*k.as_affine())
                    .map_err(|_| KeyError::Crypto)?
                    .verify_prehash(d, &s)
                    .map_err(bad)
            }
            Public::Rsa { pkcs1, .. } => {
                let (params, alg): (&'static lc::RsaParameters, _) = match digest.alg {
                    HashAlg::Sha256 => {
                        (&lc::RSA_PKCS1_2048_8192_SHA256, &aws_lc_rs::digest::SHA256)
                    }
                    HashAlg::Sha384 => {
                        (&lc::RSA_PKCS1_2048_8192_SHA384, &aws_lc_rs::digest::SHA384)
                    }
                    HashAlg::Sha512 => {
                        (&lc::RSA_PKCS1_2048_8192_SHA512, &aws_lc_rs::digest::SHA512)
                    }
                    HashAlg::Sha224 => {
                        return Err(KeyError::Unsupported("RSA signatures with SHA-224".into()))
                    }
                };
                let digest = aws_lc_rs::digest::Digest::import_less_safe(&digest.bytes, alg)
                    .map_err(|_| KeyError::Crypto)?;
                lc::UnparsedPublicKey::new(params, pkcs1)
                    .verify_digest(&digest, signature)
                    .map_err(|_| KeyError::BadSignature)
            }
            Public::Ed25519(_) => Err(KeyError::Unsupported(
                "verifying a digest with an Ed25519 key (it signs the message itself)".into(),
            )),
        }
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// A digest shorter than half the curve's field is left-padded with zeros to half of it: the same
/// integer (Go's `hashToInt`), in a length RustCrypto's `bits2field` accepts (e.g. SHA-256 on P-521).
fn ecdsa_prehash(key: &Public, digest: &[u8]) -> Vec<u8> {
    let field = match key {
        Public::P256(_) => 32,
        Public::P384(_) => 48,
        Public::P521(_) => 66,
        _ => return digest.to_vec(),
    };
    let min = field / 2 + field % 2;
    if digest.len() >= min {
        return digest.to_vec();
    }
    let mut out = vec![0u8; min - digest.len()];
    out.extend_from_slice(digest);
    out
}

/// IEEE P1363 `r‖s` (any even length up to 132 bytes, each half a big-endian integer, as sigstore's
/// `ecdsa.go` reads it) as the fixed-width `r‖s` of a curve whose scalars are `size` bytes.
fn p1363_fixed(bytes: &[u8], size: usize) -> Result<Vec<u8>, KeyError> {
    let malformed = || {
        KeyError::MalformedSignature(
            "not an ECDSA signature (neither ASN.1 DER nor IEEE P1363 r‖s)".into(),
        )
    };
    if bytes.is_empty() || bytes.len() > 132 || bytes.len() % 2 != 0 {
        return Err(malformed());
    }
    let (r, s) = bytes.split_at(bytes.len() / 2);
    let mut fixed = vec![0u8; 2 * size];
    for (half, at) in [(r, 0), (s, size)] {
        let v = strip_zeros(half);
        if v.len() > size {
            return Err(malformed());
        }
        fixed[at + size - v.len()..at + size].copy_from_slice(v);
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_bytes() -> [u8; 32] {
        let mut b = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut b);
        b
    }

    fn ec_keys() -> Vec<PrivateKey> {
        vec![
            PrivateKey::generate(),
            PrivateKey(Inner::P384(p384::ecdsa::SigningKey::random(&mut OsRng))),
            PrivateKey(Inner::P521(p521::ecdsa::SigningKey::random(&mut OsRng))),
        ]
    }

    #[test]
    fn each_type_signs_with_cosigns_digest_and_round_trips_pkcs8() {
        for k in ec_keys() {
            let p = k.public_key();
            let sig = k.sign(b"msg").unwrap();
            p.verify_with(k.signing_hash(), b"msg", &sig).unwrap();
            // cosign's default verifier digest (SHA-256) fails for P-384/P-521, as in cosign
            let default = p.verify(b"msg", &sig);
            assert_eq!(default.is_ok(), k.algorithm() == Algorithm::P256, "{k:?}");
            let back = PrivateKey::from_pkcs8_der(k.to_pkcs8_der().unwrap().expose()).unwrap();
            assert_eq!(back.public_key(), p);
            assert_eq!(PublicKey::from_der(&p.to_der()).unwrap(), p);
            assert_eq!(PublicKey::from_pem(&p.to_pem()).unwrap(), p);
        }
        let ed = PrivateKey(Inner::Ed25519(ed25519_dalek::SigningKey::from_bytes(
            &rand_bytes(),
        )));
        let sig = ed.sign(b"msg").unwrap();
        ed.public_key().verify(b"msg", &sig).unwrap();
        assert!(ed.public_key().verify(b"other", &sig).is_err());
        let back = PrivateKey::from_pkcs8_der(ed.to_pkcs8_der().unwrap().expose()).unwrap();
        assert_eq!(back.public_key(), ed.public_key());
        assert!(ed.sign_prehash(&HashAlg::Sha512.digest(b"m")).is_err());
    }

    #[test]
    fn p1363_signatures_verify() {
        for k in ec_keys() {
            let der = k.sign(b"m").unwrap();
            let size = match k.algorithm() {
                Algorithm::P256 => 32,
                Algorithm::P384 => 48,
                _ => 66,
            };
            let fixed: Vec<u8> = match k.algorithm() {
                Algorithm::P256 => p256::ecdsa::Signature::from_der(&der).unwrap().to_vec(),
                Algorithm::P384 => p384::ecdsa::Signature::from_der(&der).unwrap().to_vec(),
                _ => p521::ecdsa::Signature::from_der(&der).unwrap().to_vec(),
            };
            assert_eq!(fixed.len(), 2 * size);
            k.public_key()
                .verify_with(k.signing_hash(), b"m", &fixed)
                .unwrap();
            assert!(matches!(
                k.public_key()
                    .verify_with(k.signing_hash(), b"m", &fixed[1..]),
                Err(KeyError::MalformedSignature(_))
            ));
        }
    }

    #[test]
    fn sha256_on_p521_is_the_same_integer_as_go() {
        let k = PrivateKey(Inner::P521(p521::ecdsa::SigningKey::random(&mut OsRng)));
        let d = HashAlg::Sha256.digest(b"m");
        let Inner::P521(sk) = &k.0 else { panic!() };
        let padded = [vec![0u8], d.bytes.clone()].concat();
        let s: p521::ecdsa::Signature = sk.sign_prehash_with_rng(&mut OsRng, &padded).unwrap();
        k.public_key()
            .verify_prehash(&d, s.to_der().as_bytes())
            .unwrap();
    }

    #[test]
    fn hash_names() {
        for a in ["sha224", "sha256", "sha384", "sha512"] {
            assert_eq!(HashAlg::parse(a).unwrap().name(), a);
        }
        assert!(HashAlg::parse("SHA256").is_none());
        assert_eq!(HashAlg::Sha384.bundle_name(), "SHA2_384");
        assert_eq!(HashAlg::Sha512.digest(b"").bytes.len(), 64);
    }
}
