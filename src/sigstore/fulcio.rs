//! Fulcio: trade the identity token and a proof of possession of our ephemeral key for a short-lived
//! certificate (`POST /api/v2/signingCert`), then check what came back before using it: the leaf holds our
//! public key, is valid now, and was issued by a certificate authority of the trusted root.

use crate::net::{body_message, error_chain, Http, HttpError};
use crate::signing::{PrivateKey, PublicKey};
use crate::sigstore::oidc::IdentityToken;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use sha2::Digest;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_SAN: &str = "2.5.29.17";
/// Fulcio's issuer extension (DER UTF8String).
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// Fulcio's older issuer extension (raw bytes).
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
/// The embedded SCT list.
const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";

/// What can go wrong getting or checking the certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FulcioError {
    /// Fulcio could not be reached.
    #[error("cannot reach Fulcio: {0}")]
    Http(#[from] HttpError),
    /// Fulcio refused the request (4xx).
    #[error("Fulcio at {url} refused the certificate request ({status}): {message}")]
    Refused {
        /// the Fulcio URL
        url: String,
        /// HTTP status
        status: u16,
        /// its message
        message: String,
    },
    /// Fulcio failed (5xx), after retries.
    #[error("Fulcio at {url} failed ({status}): {message}")]
    Failed {
        /// the Fulcio URL
        url: String,
        /// HTTP status
        status: u16,
        /// its message
        message: String,
    },
    /// The answer is not a certificate chain.
    #[error("Fulcio's answer is not a certificate chain: {0}")]
    BadAnswer(String),
    /// Fulcio answered with a detached SCT, which neither the bundle nor the layer annotations can carry.
    #[error("Fulcio returned the certificate with a detached SCT; ferrosign needs the SCT embedded in the certificate")]
    DetachedSct,
    /// The certificate certifies another key than ours.
    #[error("the certificate Fulcio issued does not hold this run's public key")]
    KeyMismatch,
    /// The certificate does not chain to a trusted Fulcio CA.
    #[error("the certificate Fulcio issued does not chain to a certificate authority of {trust}: {reason}")]
    Untrusted {
        /// which trusted root
        trust: String,
        /// why
        reason: String,
    },
    /// The certificate is not valid now.
    #[error("the certificate Fulcio issued is not valid now ({0})")]
    NotValidNow(String),
}

impl FulcioError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            FulcioError::Http(HttpError::Unreachable { .. }) => {
                "check --fulcio-url and the network (transient faults were retried)".into()
            }
            FulcioError::Http(e) => return e.hint(),
            FulcioError::Refused { status: 401 | 403, .. } => {
                "Fulcio did not accept the identity token: it may have expired, have another audience than `sigstore`, or come from an issuer this Fulcio does not trust".into()
            }
            FulcioError::Refused { .. } => "check --fulcio-url (the Fulcio v2 API is expected)".into(),
            FulcioError::Failed { .. } => "Fulcio is failing; it was retried: re-run the job later".into(),
            FulcioError::BadAnswer(_) | FulcioError::DetachedSct => "check that --fulcio-url names a Fulcio instance".into(),
            FulcioError::KeyMismatch => "nothing was signed: the server at --fulcio-url misbehaves or is not the Fulcio you meant".into(),
            FulcioError::Untrusted { .. } => {
                "pass the trusted root of this Fulcio instance with --trusted-root (or check --fulcio-url)".into()
            }
            FulcioError::NotValidNow(_) => "check the machine's clock".into(),
        })
    }
}

/// The certificate authorities to trust: each CA's chain, DER, issuing certificate first, root last
/// (a trusted root's `certificateAuthorities[].certChain`).
#[derive(Clone, Debug, Default)]
pub struct TrustedCas {
    /// what they come from, for messages (`the public-good trusted root`, a file name)
    pub name: String,
    /// the chains
    pub chains: Vec<Vec<Vec<u8>>>,
}

/// A checked signing certificate.
#[derive(Clone, Debug)]
pub struct SigningCertificate {
    /// the leaf, DER
    pub leaf_der: Vec<u8>,
    /// the leaf, PEM (what goes to Rekor and the `certificate` annotation)
    pub leaf_pem: String,
    /// the rest of the chain as Fulcio returned it, PEM, concatenated (the `chain` annotation)
    pub chain_pem: String,
    /// the certified identity (SAN)
    pub identity: String,
    /// the OIDC issuer recorded in the certificate
    pub issuer: String,
    /// validity, seconds since the epoch
    pub not_before: i64,
    /// validity, seconds since the epoch
    pub not_after: i64,
}

/// A Fulcio client.
#[derive(Clone, Debug)]
pub struct Fulcio {
    http: Http,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    signed_certificate_embedded_sct: Option<ChainHolder>,
    signed_certificate_detached_sct: Option<ChainHolder>,
}

#[derive(Deserialize)]
struct ChainHolder {
    chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<String>,
}

fn pem(der: &[u8]) -> String {
    // Encoding DER into PEM cannot fail for a certificate we just parsed.
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Fulcio {
    /// A client for the Fulcio at `url`.
    pub fn new(http: Http, url: &str) -> Self {
        Fulcio {
            http,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// Requests a certificate for `key`, proving possession by signing the token's `sub`, and checks it.
    pub async fn certificate(
        &self,
        token: &IdentityToken,
        key: &PrivateKey,
        trust: &TrustedCas,
    ) -> Result<SigningCertificate, FulcioError> {
        let public = key.public_key();
        let request = serde_json::json!({
            "credentials": {"oidcIdentityToken": token.expose()},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": public.to_pem()},
                "proofOfPossession": B64.encode(key.sign(token.claims.sub.as_bytes())),
            },
        });
        let endpoint = format!("{}/api/v2/signingCert", self.url);
        let body = request.to_string();
        let resp = self.http.post_json(&endpoint, body).await?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| HttpError::Unreachable {
            url: endpoint.clone(),
            reason: error_chain(&e),
        })?;
        if !status.is_success() {
            let (url, status, message) = (self.url.clone(), status.as_u16(), body_message(&bytes));
            return Err(if status >= 500 {
                FulcioError::Failed {
                    url,
                    status,
                    message,
                }
            } else {
                FulcioError::Refused {
                    url,
                    status,
                    message,
                }
            });
        }
        let answer: Answer = serde_json::from_slice(&bytes)
            .map_err(|e| FulcioError::BadAnswer(format!("not the expected JSON: {e}")))?;
        let chain = match (
            answer.signed_certificate_embedded_sct,
            answer.signed_certificate_detached_sct,
        ) {
            (Some(c), _) => c.chain.certificates,
            (None, Some(_)) => return Err(FulcioError::DetachedSct),
            (None, None) => {
                return Err(FulcioError::BadAnswer(
                    "neither signedCertificateEmbeddedSct nor signedCertificateDetachedSct".into(),
                ))
            }
        };
        check_certificate(&chain, &public, trust, now_unix())
    }
}

fn parse_pem_cert(text: &str) -> Result<Vec<u8>, FulcioError> {
    let (label, der) = pem_rfc7468::decode_vec(text.trim().as_bytes())
        .map_err(|e| FulcioError::BadAnswer(format!("a certificate is not PEM: {e}")))?;
    if label != "CERTIFICATE" {
        return Err(FulcioError::BadAnswer(format!(
            "a PEM block is `{label}`, not CERTIFICATE"
        )));
    }
    Ok(der)
}

/// Checks Fulcio's chain (PEM, leaf first) for our key against the trusted CAs, at time `now`.
pub fn check_certificate(
    chain: &[String],
    ours: &PublicKey,
    trust: &TrustedCas,
    now: i64,
) -> Result<SigningCertificate, FulcioError> {
    let Some((leaf_pem, rest)) = chain.split_first() else {
        return Err(FulcioError::BadAnswer("the chain is empty".into()));
    };
    let leaf_der = parse_pem_cert(leaf_pem)?;
    let leaf = Certificate::from_der(&leaf_der).map_err(|e| {
        FulcioError::BadAnswer(format!("the leaf is not an X.509 certificate: {e}"))
    })?;
    let spki = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| FulcioError::BadAnswer(e.to_string()))?;
    if spki != ours.to_der() {
        return Err(FulcioError::KeyMismatch);
    }
    let validity = &leaf.tbs_certificate.validity;
    let not_before = validity.not_before.to_unix_duration().as_secs() as i64;
    let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
    // A minute of slack for clocks that disagree with Fulcio's.
    if now + 60 < not_before || now > not_after {
        return Err(FulcioError::NotValidNow(format!(
            "valid from {not_before} to {not_after}, now is {now} (seconds since 1970)"
        )));
    }
    verify_issued_by_trusted_ca(&leaf, trust)?;
    let mut chain_pem = String::new();
    for c in rest {
        chain_pem.push_str(&pem(&parse_pem_cert(c)?));
    }
    Ok(SigningCertificate {
        leaf_pem: pem(&leaf_der),
        leaf_der,
        chain_pem,
        identity: san(&leaf).unwrap_or_default(),
        issuer: oidc_issuer(&leaf).unwrap_or_default(),
        not_before,
        not_after,
    })
}

fn verify_issued_by_trusted_ca(leaf: &Certificate, trust: &TrustedCas) -> Result<(), FulcioError> {
    let untrusted = |reason: String| FulcioError::Untrusted {
        trust: trust.name.clone(),
        reason,
    };
    let mut last = "the trusted root lists no certificate authority".to_string();
    for chain in &trust.chains {
        let Some(issuer_der) = chain.first() else {
            continue;
        };
        let Ok(issuer) = Certificate::from_der(issuer_der) else {
            last = "a trusted CA certificate cannot be parsed".into();
            continue;
        };
        if issuer.tbs_certificate.subject != leaf.tbs_certificate.issuer {
            last = format!(
                "its issuer `{}` is not a trusted CA",
                leaf.tbs_certificate.issuer
            );
            continue;
        }
        match verify_signed_by(leaf, &issuer) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(untrusted(last))
}

/// Verifies `cert`'s signature with `issuer`'s public key (ECDSA P-256/P-384, SHA-256/384/512).
pub fn verify_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let tbs = cert.tbs_certificate.to_der().map_err(|e| e.to_string())?;
    let digest: Vec<u8> = match cert.signature_algorithm.oid.to_string().as_str() {
        OID_ECDSA_SHA256 => sha2::Sha256::digest(&tbs).to_vec(),
        OID_ECDSA_SHA384 => sha2::Sha384::digest(&tbs).to_vec(),
        OID_ECDSA_SHA512 => sha2::Sha512::digest(&tbs).to_vec(),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    let sig = cert
        .signature
        .as_bytes()
        .ok_or_else(|| "the signature is not whole bytes".to_string())?;
    let spki = &issuer.tbs_certificate.subject_public_key_info;
    let point = spki.subject_public_key.raw_bytes();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string())
        .unwrap_or_default();
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let ok = match curve.as_str() {
        OID_P256 => {
            let key =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| e.to_string())?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|e| e.to_string())?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        OID_P384 => {
            let key =
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| e.to_string())?;
            let sig = p384::ecdsa::Signature::from_der(sig).map_err(|e| e.to_string())?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        other => return Err(format!("unsupported CA key (curve {other})")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "its signature does not verify with the key of `{}`",
            issuer.tbs_certificate.subject
        ))
    }
}

fn extension<'a>(cert: &'a Certificate, oid: &str) -> Option<&'a [u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// The certificate's first SAN: URI, e-mail, or DNS name.
pub fn san(cert: &Certificate) -> Option<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    let raw = extension(cert, OID_SAN)?;
    let names = x509_cert::ext::pkix::SubjectAltName::from_der(raw).ok()?;
    names.0.iter().find_map(|n| match n {
        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        GeneralName::Rfc822Name(e) => Some(e.to_string()),
        GeneralName::DnsName(d) => Some(d.to_string()),
        _ => None,
    })
}

/// The OIDC issuer Fulcio recorded (extension `.8`, else the older `.1`).
pub fn oidc_issuer(cert: &Certificate) -> Option<String> {
    if let Some(raw) = extension(cert, OID_ISSUER_V2) {
        if let Ok(s) = x509_cert::der::asn1::Utf8StringRef::from_der(raw) {
            return Some(s.as_str().to_string());
        }
    }
    extension(cert, OID_ISSUER_V1).and_then(|raw| String::from_utf8(raw.to_vec()).ok())
}

/// Whether the certificate carries an embedded SCT list.
pub fn has_embedded_sct(cert: &Certificate) -> bool {
    extension(cert, OID_SCT_LIST).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Sigstore staging instance's Fulcio intermediate and root (public, from its trusted root):
    // real P-384 certificates signed with ecdsa-with-SHA384.
    const STAGING_INTERMEDIATE: &str = "MIICGTCCAaCgAwIBAgITJta/okfgHvjabGm1BOzuhrwA1TAKBggqhkjOPQQDAzAqMRUwEwYDVQQKEwxzaWdzdG9yZS5kZXYxETAPBgNVBAMTCHNpZ3N0b3JlMB4XDTIyMDQxNDIxMzg0MFoXDTMyMDMyMjE2NTA0NVowNzEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MR4wHAYDVQQDExVzaWdzdG9yZS1pbnRlcm1lZGlhdGUwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAASosAySWJQ/tK5r8T5aHqavk0oI+BKQbnLLdmOMRXHQF/4Hx9KtNfpcdjH9hNKQSBxSlLFFN3tvFCco0qFBzWYwZtsYsBe1l91qYn/9VHFTaEVwYQWIJEEvrs0fvPuAqjajezB5MA4GA1UdDwEB/wQEAwIBBjATBgNVHSUEDDAKBggrBgEFBQcDAzASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1UdDgQWBBRxhjCmFHxib/n31vQFGn9f/+tvrDAfBgNVHSMEGDAWgBT/QjK6aH2rOnCv3AzUGuI+h49mZTAKBggqhkjOPQQDAwNnADBkAjAM1lbKkcqQlE/UspMTbWNo1y2TaJ44tx3l/FJFceTSdDZ+0W1OHHeU4twie/lq8XgCMHQxgEv26xNNiAGyPXbkYgrDPvbOqp0UeWX4mJnLSrBr3aN/KX1SBrKQu220FmVL0Q==";
    const STAGING_ROOT: &str = "MIIB9jCCAXugAwIBAgITDdEJvluliE0AzYaIE4jTMdnFTzAKBggqhkjOPQQDAzAqMRUwEwYDVQQKEwxzaWdzdG9yZS5kZXYxETAPBgNVBAMTCHNpZ3N0b3JlMB4XDTIyMDMyNTE2NTA0NloXDTMyMDMyMjE2NTA0NVowKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTB2MBAGByqGSM49AgEGBSuBBAAiA2IABMo9BUNk9QIYisYysC24+2OytoV72YiLonYcqR3yeVnYziPt7Xv++CYE8yoCTiwedUECCWKOcvQKRCJZb9ht4Hzy+VvBx36hK+C6sECCSR0x6pPSiz+cTk1f788ZjBlUZaNjMGEwDgYDVR0PAQH/BAQDAgEGMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFP9CMrpofas6cK/cDNQa4j6Hj2ZlMB8GA1UdIwQYMBaAFP9CMrpofas6cK/cDNQa4j6Hj2ZlMAoGCCqGSM49BAMDA2kAMGYCMQD+kojuzMwztNay9Ibzjuk//ZL5m6T2OCsm45l1lY004pcb984L926BowodoirFMcMCMQDIJtFHhP/1D3a+M3dAGomOb6O4CmTry3TTPbPsAFnv22YA0Y+P21NVoxKDjdu0tkw=";

    fn cert(b64: &str) -> Certificate {
        Certificate::from_der(&B64.decode(b64).unwrap()).unwrap()
    }

    #[test]
    fn verifies_real_p384_signatures_and_rejects_the_wrong_issuer() {
        let (inter, root) = (cert(STAGING_INTERMEDIATE), cert(STAGING_ROOT));
        verify_signed_by(&root, &root).unwrap();
        verify_signed_by(&inter, &root).unwrap();
        let err = verify_signed_by(&root, &inter).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
        let mut tampered = inter.clone();
        tampered.tbs_certificate.serial_number = root.tbs_certificate.serial_number.clone();
        assert!(verify_signed_by(&tampered, &root).is_err());
    }

    #[test]
    fn an_empty_or_foreign_chain_is_refused() {
        let ours = PrivateKey::generate().public_key();
        let trust = TrustedCas {
            name: "test".into(),
            chains: vec![vec![B64.decode(STAGING_INTERMEDIATE).unwrap()]],
        };
        assert!(matches!(
            check_certificate(&[], &ours, &trust, 0),
            Err(FulcioError::BadAnswer(_))
        ));
        // the staging intermediate as "leaf": not our key
        let pem = pem(&B64.decode(STAGING_INTERMEDIATE).unwrap());
        assert!(matches!(
            check_certificate(&[pem], &ours, &trust, 0),
            Err(FulcioError::KeyMismatch)
        ));
    }
}
