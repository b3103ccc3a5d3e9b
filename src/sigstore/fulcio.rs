//! Fulcio: trade the identity token and a proof of possession of our ephemeral key for a short-lived
//! certificate (`POST /api/v2/signingCert`), then check what came back before using it: the leaf holds our
//! public key, is valid now, and chains to a certificate authority of the trusted root.
//!
//! The certificate is read by `sigstore-crypto` (the SAN identity, Fulcio's issuer extension, validity,
//! public key) and its chain checked by rustls-webpki with sigstore-verify's algorithms
//! ([`TrustRoot::verify_fulcio_chain`]). The embedded SCT is checked once the signature is in Rekor, when
//! the whole answer goes through sigstore-verify ([`crate::sigstore::rekor::RekorEntry::check`]):
//! sigstore-verify checks an SCT only as part of a bundle, and a bundle needs the log's signed time.
//! Whether the certificate carries an SCT at all is read here with `x509-cert` (an extension lookup).

use crate::net::{body_message, Http, HttpError};
use crate::signing::{PrivateKey, PublicKey};
use crate::sigstore::oidc::IdentityToken;
use crate::sigstore::trust::TrustRoot;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use sigstore_verify::crypto::parse_certificate_info;
use sigstore_verify::types::DerCertificate;
use x509_cert::der::Decode;

/// The embedded SCT list extension (RFC 6962).
const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";

/// What can go wrong getting or checking the certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum FulcioError {
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
    pub(crate) fn hint(&self) -> Option<String> {
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

/// A checked signing certificate.
#[derive(Clone, Debug)]
pub(crate) struct SigningCertificate {
    /// the leaf, DER
    pub(crate) leaf_der: Vec<u8>,
    /// the leaf, PEM (what goes to Rekor and the `certificate` annotation)
    pub(crate) leaf_pem: String,
    /// the rest of the chain as Fulcio returned it, PEM, concatenated (the `chain` annotation)
    pub(crate) chain_pem: String,
    /// the certified identity (SAN)
    pub(crate) identity: String,
    /// the OIDC issuer recorded in the certificate
    pub(crate) issuer: String,
    /// validity, seconds since the epoch
    pub(crate) not_before: i64,
    /// validity, seconds since the epoch
    pub(crate) not_after: i64,
    /// whether it carries an embedded SCT (RFC 6962)
    pub(crate) has_sct: bool,
}

/// A Fulcio client.
#[derive(Clone, Debug)]
pub(crate) struct Fulcio {
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

impl Fulcio {
    /// A client for the Fulcio at `url`.
    pub(crate) fn new(http: Http, url: &str) -> Self {
        Fulcio {
            http,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// Requests a certificate for `key`, proving possession by signing the token's `sub`, and checks it.
    pub(crate) async fn certificate(
        &self,
        token: &IdentityToken,
        key: &PrivateKey,
        trust: &TrustRoot,
    ) -> Result<SigningCertificate, FulcioError> {
        let public = key.public_key();
        // The ephemeral key is P-256: signing a short message cannot fail (an empty proof would only
        // make Fulcio refuse the request).
        let proof = key.sign(token.claims.sub.as_bytes()).unwrap_or_default();
        let request = serde_json::json!({
            "credentials": {"oidcIdentityToken": token.expose()},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": public.to_pem()},
                "proofOfPossession": B64.encode(proof),
            },
        });
        let endpoint = format!("{}/api/v2/signingCert", self.url);
        let body = request.to_string();
        let resp = self.http.post_json(&endpoint, body).await?;
        let status = resp.status();
        let bytes = crate::net::read_answer(
            resp,
            &endpoint,
            crate::net::FULCIO_ANSWER,
            self.http.deadline(),
        )
        .await
        .map_err(|e| match e {
            HttpError::TooLarge { .. } => FulcioError::BadAnswer(e.to_string()),
            e => e.into(),
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
        check_certificate(&chain, &public, trust, jiff::Timestamp::now())
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

/// Checks Fulcio's chain (PEM, leaf first) for our key against the trusted root, at time `now`: the
/// leaf holds `ours`, is valid now (a minute of slack for clocks that disagree with Fulcio's), and
/// chains to a Fulcio CA of `trust`.
pub(crate) fn check_certificate(
    chain: &[String],
    ours: &PublicKey,
    trust: &TrustRoot,
    now: jiff::Timestamp,
) -> Result<SigningCertificate, FulcioError> {
    let Some((leaf_pem, rest)) = chain.split_first() else {
        return Err(FulcioError::BadAnswer("the chain is empty".into()));
    };
    let leaf_der = parse_pem_cert(leaf_pem)?;
    let info = parse_certificate_info(&DerCertificate::from_bytes(&leaf_der)).map_err(|e| {
        FulcioError::BadAnswer(format!("the leaf is not a usable X.509 certificate: {e}"))
    })?;
    if info.public_key.as_bytes() != ours.to_der().as_slice() {
        return Err(FulcioError::KeyMismatch);
    }
    let (not_before, not_after) = (info.not_before.as_second(), info.not_after.as_second());
    if !valid_at(not_before, not_after, now.as_second()) {
        return Err(FulcioError::NotValidNow(format!(
            "valid from {} to {}, now is {now}",
            info.not_before, info.not_after
        )));
    }
    let intermediates = rest
        .iter()
        .map(|c| parse_pem_cert(c))
        .collect::<Result<Vec<_>, _>>()?;
    // Checked at a time inside the leaf's validity (the slack above).
    let at = if now < info.not_before {
        info.not_before
    } else {
        now
    };
    trust
        .verify_fulcio_chain(&leaf_der, &intermediates, at)
        .map_err(|reason| FulcioError::Untrusted {
            trust: trust.source().to_string(),
            reason,
        })?;
    let chain_pem = intermediates.iter().map(|der| pem(der)).collect();
    Ok(SigningCertificate {
        leaf_pem: pem(&leaf_der),
        has_sct: has_embedded_sct(&leaf_der),
        leaf_der,
        chain_pem,
        identity: info
            .identity
            .map(|i| i.as_str().to_string())
            .unwrap_or_default(),
        issuer: info.issuer.unwrap_or_default(),
        not_before,
        not_after,
    })
}

/// How far ahead of our clock a fresh certificate's `notBefore` may lie (seconds): clocks disagree.
const CLOCK_SLACK_S: i64 = 60;

/// Whether a certificate valid from `not_before` to `not_after` (Unix seconds, both included, as
/// RFC 5280 §4.1.2.5 says) is valid at `now`, allowing [`CLOCK_SLACK_S`] before `not_before`.
fn valid_at(not_before: i64, not_after: i64, now: i64) -> bool {
    now + CLOCK_SLACK_S >= not_before && now <= not_after
}

/// Whether a certificate (DER) carries an embedded SCT list.
fn has_embedded_sct(der: &[u8]) -> bool {
    x509_cert::Certificate::from_der(der).is_ok_and(|c| {
        c.tbs_certificate
            .extensions
            .as_ref()
            .is_some_and(|exts| exts.iter().any(|e| e.extn_id.to_string() == OID_SCT_LIST))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Sigstore staging instance's Fulcio intermediate (public, from its trusted root).
    const STAGING_INTERMEDIATE: &str = "MIICGTCCAaCgAwIBAgITJta/okfgHvjabGm1BOzuhrwA1TAKBggqhkjOPQQDAzAqMRUwEwYDVQQKEwxzaWdzdG9yZS5kZXYxETAPBgNVBAMTCHNpZ3N0b3JlMB4XDTIyMDQxNDIxMzg0MFoXDTMyMDMyMjE2NTA0NVowNzEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MR4wHAYDVQQDExVzaWdzdG9yZS1pbnRlcm1lZGlhdGUwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAASosAySWJQ/tK5r8T5aHqavk0oI+BKQbnLLdmOMRXHQF/4Hx9KtNfpcdjH9hNKQSBxSlLFFN3tvFCco0qFBzWYwZtsYsBe1l91qYn/9VHFTaEVwYQWIJEEvrs0fvPuAqjajezB5MA4GA1UdDwEB/wQEAwIBBjATBgNVHSUEDDAKBggrBgEFBQcDAzASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1UdDgQWBBRxhjCmFHxib/n31vQFGn9f/+tvrDAfBgNVHSMEGDAWgBT/QjK6aH2rOnCv3AzUGuI+h49mZTAKBggqhkjOPQQDAwNnADBkAjAM1lbKkcqQlE/UspMTbWNo1y2TaJ44tx3l/FJFceTSdDZ+0W1OHHeU4twie/lq8XgCMHQxgEv26xNNiAGyPXbkYgrDPvbOqp0UeWX4mJnLSrBr3aN/KX1SBrKQu220FmVL0Q==";

    #[test]
    fn validity_window_bounds_are_inclusive_with_a_minute_of_slack() {
        let (nb, na) = (1_000, 1_600);
        assert!(valid_at(nb, na, nb));
        assert!(valid_at(nb, na, na));
        assert!(!valid_at(nb, na, na + 1));
        assert!(valid_at(nb, na, nb - CLOCK_SLACK_S));
        assert!(!valid_at(nb, na, nb - CLOCK_SLACK_S - 1));
        assert!(!valid_at(nb, na, 0));
    }

    #[test]
    fn an_empty_or_foreign_chain_is_refused() {
        let ours = PrivateKey::generate().public_key();
        let trust = TrustRoot::production().unwrap();
        let now = jiff::Timestamp::now();
        assert!(matches!(
            check_certificate(&[], &ours, &trust, now),
            Err(FulcioError::BadAnswer(_))
        ));
        // the staging intermediate as "leaf": not our key
        let pem = pem(&B64.decode(STAGING_INTERMEDIATE).unwrap());
        assert!(matches!(
            check_certificate(&[pem], &ours, &trust, now),
            Err(FulcioError::KeyMismatch)
        ));
        assert!(!has_embedded_sct(
            &B64.decode(STAGING_INTERMEDIATE).unwrap()
        ));
    }
}

/// The certificate check and the request on a recorded Fulcio certificate of the fake Sigstore
/// (`fixtures`) and canned loopback answers (issue 16's mutation run: each test fails with a mutant of
/// this file).
#[cfg(test)]
mod recorded {
    use super::*;
    use crate::sigstore::fixtures;

    /// The keyless fixture's leaf: DER, its key, notBefore and notAfter.
    fn leaf() -> (Vec<u8>, PublicKey, jiff::Timestamp, jiff::Timestamp) {
        let der = fixtures::keyless_signed().leaf_der.unwrap();
        let info = parse_certificate_info(&DerCertificate::from_bytes(&der)).unwrap();
        let key = PublicKey::from_der(info.public_key.as_bytes()).unwrap();
        (der, key, info.not_before, info.not_after)
    }

    #[test]
    fn a_leaf_counts_for_our_key_inside_its_validity_and_chained_to_the_trusted_ca() {
        let trust = fixtures::trust();
        let (der, ours, nb, na) = leaf();
        let text = pem(&der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"), "{text}");
        assert_eq!(parse_pem_cert(&text).unwrap(), der);
        let c = check_certificate(std::slice::from_ref(&text), &ours, &trust, nb).unwrap();
        assert_eq!(
            (c.leaf_der.as_slice(), c.leaf_pem.as_str()),
            (der.as_slice(), text.as_str())
        );
        assert_eq!(c.identity, fixtures::IDENTITY);
        assert_eq!(c.issuer, fixtures::ISSUER);
        assert_eq!(
            (c.not_before, c.not_after),
            (nb.as_second(), na.as_second())
        );
        assert!(c.has_sct);
        assert!(c.chain_pem.is_empty());
        // Half a minute before notBefore (our clock behind Fulcio's): the chain is checked at
        // notBefore, where it holds.
        let early = nb - jiff::SignedDuration::from_secs(30);
        check_certificate(std::slice::from_ref(&text), &ours, &trust, early).unwrap();
        // Expired, another key, another trusted root.
        let late = na + jiff::SignedDuration::from_secs(1);
        assert!(matches!(
            check_certificate(std::slice::from_ref(&text), &ours, &trust, late),
            Err(FulcioError::NotValidNow(_))
        ));
        let stranger = PrivateKey::generate().public_key();
        assert!(matches!(
            check_certificate(std::slice::from_ref(&text), &stranger, &trust, nb),
            Err(FulcioError::KeyMismatch)
        ));
        let production = TrustRoot::production().unwrap();
        assert!(matches!(
            check_certificate(&[text], &ours, &production, nb),
            Err(FulcioError::Untrusted { .. })
        ));
        // A PEM block of another kind.
        let key_pem = ours.to_pem();
        let e = parse_pem_cert(&key_pem).unwrap_err();
        assert!(e.to_string().contains("not CERTIFICATE"), "{e}");
    }

    fn fulcio(url: &str) -> Fulcio {
        Fulcio::new(fixtures::http_once(), url)
    }

    fn token() -> IdentityToken {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
        let claims = serde_json::json!({"iss": fixtures::ISSUER, "sub": "repo:acme/app:ref:refs/heads/main",
            "aud": "sigstore", "exp": 4_000_000_000u64});
        let raw = format!(
            "{}.{}.c2ln",
            B64URL.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            B64URL.encode(claims.to_string())
        );
        IdentityToken::parse(&raw.into(), 1000).unwrap()
    }

    #[tokio::test]
    async fn fulcios_answer_is_checked_and_its_refusals_named_by_status() {
        let trust = fixtures::trust();
        let key = PrivateKey::generate();
        let (trust, key) = (&trust, &key);
        let ask = |status: u16, body: serde_json::Value| {
            let url = fixtures::answering(status, body.to_string().into_bytes());
            async move { fulcio(&url).certificate(&token(), key, trust).await }
        };
        // A genuine certificate, for another key than ours.
        let (der, ..) = leaf();
        let chain = serde_json::json!({"signedCertificateEmbeddedSct":
            {"chain": {"certificates": [pem(&der)]}}});
        let e = ask(200, chain).await.unwrap_err();
        assert!(matches!(e, FulcioError::KeyMismatch), "{e}");
        let detached = serde_json::json!({"signedCertificateDetachedSct":
            {"chain": {"certificates": [pem(&der)]}, "signedCertificateTimestamp": "AA=="}});
        let e = ask(200, detached).await.unwrap_err();
        assert!(matches!(e, FulcioError::DetachedSct), "{e}");
        let e = ask(400, serde_json::json!({"message": "bad token"}))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, FulcioError::Refused { status: 400, message, .. } if message.contains("bad token")),
            "{e}"
        );
        let e = ask(503, serde_json::json!({})).await.unwrap_err();
        assert!(matches!(e, FulcioError::Failed { status: 503, .. }), "{e}");
    }
}
