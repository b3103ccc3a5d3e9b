//! The OIDC identity token keyless signing trades for a Fulcio certificate: requested from the GitHub
//! Actions token service (`ACTIONS_ID_TOKEN_REQUEST_URL` + `_TOKEN`, audience `sigstore`), or given
//! directly (`--identity-token`, `SIGSTORE_ID_TOKEN`).
//!
//! The token's claims are decoded without checking its signature (Fulcio checks it; we only need them to
//! name the identity, to sign the `sub` claim as proof of possession, and to fail early on an expired
//! token). The token is a secret: masked before anything else is written.

use crate::gha::Ui;
use crate::net::{Http, HttpError};
use crate::secret::SecretString;
use serde::Deserialize;

/// The audience Fulcio expects.
pub(crate) const AUDIENCE: &str = "sigstore";

/// What can go wrong getting or reading the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum OidcError {
    /// The token service could not be reached.
    #[error("cannot request the OIDC token: {0}")]
    Http(#[from] HttpError),
    /// The token service answered with an error status.
    #[error("the GitHub Actions token service answered {status}: {message}")]
    TokenService {
        /// HTTP status
        status: u16,
        /// its message (without secrets)
        message: String,
    },
    /// The token service's answer has no token.
    #[error("the GitHub Actions token service answered without a token: {0}")]
    NoValue(String),
    /// The token is not a JWT, or its claims cannot be read.
    #[error("the identity token is not a readable JWT: {0}")]
    Malformed(String),
    /// The token has expired.
    #[error("the identity token expired {0} seconds ago")]
    Expired(i64),
    /// A claim Fulcio needs is missing.
    #[error("the identity token has no `{0}` claim")]
    MissingClaim(&'static str),
}

impl OidcError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            OidcError::Http(e) => e.hint(),
            OidcError::TokenService { status: 401 | 403, .. } => Some(
                "the job's token request credentials were refused: check `permissions: id-token: write` and that the step runs in the job that has it".into(),
            ),
            OidcError::TokenService { .. } | OidcError::NoValue(_) => {
                Some("GitHub's token service failed: re-run the job".into())
            }
            OidcError::Malformed(_) | OidcError::MissingClaim(_) => Some(
                "pass an OIDC identity token (a JWT with iss, sub, aud and exp claims) via --identity-token or SIGSTORE_ID_TOKEN".into(),
            ),
            OidcError::Expired(_) => Some(
                "get a fresh token: tokens live minutes (in Actions ferrosign requests one itself when the job has `permissions: id-token: write`)".into(),
            ),
        }
    }
}

/// Where the token comes from (decided by [`crate::config`]).
#[derive(Debug)]
pub(crate) enum TokenSource {
    /// Given directly (`--identity-token`, `SIGSTORE_ID_TOKEN`).
    Given(SecretString),
    /// Requested from the Actions token service.
    Actions {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`
        url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (secret)
        request_token: SecretString,
    },
}

/// A string or a list of strings (the `aud` claim may be either).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, s: &str) -> bool {
        match self {
            OneOrMany::One(v) => v == s,
            OneOrMany::Many(v) => v.iter().any(|x| x == s),
        }
    }
}

/// The claims ferrosign reads; GitHub's are present in Actions tokens only.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Claims {
    /// issuer
    #[serde(default)]
    pub(crate) iss: String,
    /// subject: signed as the proof of possession
    #[serde(default)]
    pub(crate) sub: String,
    /// audience
    #[serde(default)]
    aud: Option<OneOrMany>,
    /// expiry (seconds since the epoch)
    #[serde(default)]
    pub(crate) exp: Option<i64>,
    /// an e-mail identity (non-Actions tokens)
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// `owner/repo`
    #[serde(default)]
    pub(crate) repository: Option<String>,
    /// `public`, `private` or `internal`
    #[serde(default)]
    pub(crate) repository_visibility: Option<String>,
    /// `owner/repo/.github/workflows/x.yml@refs/...`: Fulcio's SAN for Actions tokens
    #[serde(default)]
    pub(crate) job_workflow_ref: Option<String>,
}

impl Claims {
    /// Whether `aud` names `audience`.
    pub(crate) fn has_audience(&self, audience: &str) -> bool {
        self.aud.as_ref().is_some_and(|a| a.contains(audience))
    }

    /// The identity Fulcio will certify, as `cosign verify --certificate-identity` expects it: the
    /// workflow URL for Actions tokens, else the e-mail, else the subject.
    pub(crate) fn identity(&self) -> String {
        if let Some(w) = &self.job_workflow_ref {
            format!("https://github.com/{w}")
        } else if let Some(e) = &self.email {
            e.clone()
        } else {
            self.sub.clone()
        }
    }
}

/// A token and its (unverified) claims.
#[derive(Debug)]
pub(crate) struct IdentityToken {
    raw: SecretString,
    /// the claims
    pub(crate) claims: Claims,
}

impl IdentityToken {
    /// Reads a token's claims; rejects an expired token or one without `sub`/`iss`.
    pub(crate) fn parse(raw: &SecretString, now: i64) -> Result<Self, OidcError> {
        let data = jsonwebtoken::dangerous::insecure_decode::<Claims>(raw.expose().trim())
            .map_err(|e| OidcError::Malformed(e.to_string()))?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(OidcError::MissingClaim("sub"));
        }
        if claims.iss.is_empty() {
            return Err(OidcError::MissingClaim("iss"));
        }
        match claims.exp {
            None => return Err(OidcError::MissingClaim("exp")),
            Some(exp) if exp <= now => return Err(OidcError::Expired(now - exp)),
            Some(_) => {}
        }
        let raw = SecretString::from(raw.expose().trim().to_string());
        Ok(IdentityToken { raw, claims })
    }

    /// The JWT text. Never print it.
    pub(crate) fn expose(&self) -> &str {
        self.raw.expose()
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The token service URL with `audience=sigstore` added to its query.
pub(crate) fn request_url(base: &str) -> Result<String, HttpError> {
    let mut url = reqwest::Url::parse(base).map_err(|e| HttpError::InvalidUrl {
        url: crate::net::redact_query(base),
        reason: e.to_string(),
    })?;
    url.query_pairs_mut().append_pair("audience", AUDIENCE);
    Ok(url.to_string())
}

/// Gets the token (masking it, and the request credentials, first) and reads its claims.
pub(crate) async fn identity_token(
    source: &TokenSource,
    http: &Http,
    ui: &mut Ui,
) -> Result<IdentityToken, OidcError> {
    let raw = match source {
        TokenSource::Given(t) => {
            ui.mask(t.expose());
            t.clone()
        }
        TokenSource::Actions { url, request_token } => {
            ui.mask(request_token.expose());
            let full = request_url(url)?;
            let resp = http
                .send(&full, |c, u| {
                    c.get(u)
                        .header(
                            reqwest::header::AUTHORIZATION,
                            format!("bearer {}", request_token.expose()),
                        )
                        .header(reqwest::header::ACCEPT, "application/json")
                })
                .await?;
            let status = resp.status();
            let body =
                crate::net::read_answer(resp, url, crate::net::TOKEN_ANSWER, http.deadline())
                    .await?;
            if !status.is_success() {
                return Err(OidcError::TokenService {
                    status: status.as_u16(),
                    message: ui.redact(&crate::net::body_message(&body)),
                });
            }
            #[derive(Deserialize)]
            struct Answer {
                value: Option<String>,
            }
            let value = serde_json::from_slice::<Answer>(&body)
                .ok()
                .and_then(|a| a.value)
                .filter(|v| !v.is_empty());
            let Some(value) = value else {
                return Err(OidcError::NoValue(
                    "no `value` field in its JSON answer".into(),
                ));
            };
            ui.mask(&value);
            SecretString::from(value)
        }
    };
    IdentityToken::parse(&raw, now_unix())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub Actions' token issuer.
    const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;

    fn jwt(claims: &serde_json::Value) -> SecretString {
        let h = B64URL.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let c = B64URL.encode(claims.to_string());
        SecretString::from(format!("{h}.{c}.c2ln"))
    }

    #[test]
    fn reads_actions_claims_and_identity() {
        let t = IdentityToken::parse(
            &jwt(&serde_json::json!({"iss": GITHUB_ISSUER, "sub": "repo:acme/app:ref:refs/heads/main",
                "aud": "sigstore", "exp": 2000, "repository": "acme/app", "repository_visibility": "private",
                "job_workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main"})),
            1000,
        )
        .unwrap();
        assert_eq!(
            t.claims.identity(),
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
        );
        assert!(t.claims.has_audience("sigstore"));
        assert_eq!(t.claims.repository_visibility.as_deref(), Some("private"));
    }

    #[test]
    fn audience_may_be_a_list_and_email_is_the_identity() {
        let t = IdentityToken::parse(
            &jwt(&serde_json::json!({"iss": "https://accounts.example", "sub": "123", "aud": ["x", "sigstore"],
                "exp": 2000, "email": "dev@example.com"})),
            1000,
        )
        .unwrap();
        assert!(t.claims.has_audience("sigstore"));
        assert_eq!(t.claims.identity(), "dev@example.com");
    }

    #[test]
    fn rejects_expired_malformed_and_incomplete_tokens() {
        let expired = jwt(&serde_json::json!({"iss": "i", "sub": "s", "exp": 900}));
        assert!(matches!(
            IdentityToken::parse(&expired, 1000),
            Err(OidcError::Expired(100))
        ));
        let no_sub = jwt(&serde_json::json!({"iss": "i", "exp": 2000}));
        assert!(matches!(
            IdentityToken::parse(&no_sub, 1000),
            Err(OidcError::MissingClaim("sub"))
        ));
        let no_exp = jwt(&serde_json::json!({"iss": "i", "sub": "s"}));
        assert!(matches!(
            IdentityToken::parse(&no_exp, 1000),
            Err(OidcError::MissingClaim("exp"))
        ));
        assert!(matches!(
            IdentityToken::parse(&SecretString::from("not a jwt".to_string()), 1000),
            Err(OidcError::Malformed(_))
        ));
    }

    #[test]
    fn audience_is_added_to_the_request_url() {
        assert_eq!(
            request_url("http://127.0.0.1:1/oidc/token?api-version=2.0").unwrap(),
            "http://127.0.0.1:1/oidc/token?api-version=2.0&audience=sigstore"
        );
        assert_eq!(
            request_url("https://x.example/t").unwrap(),
            "https://x.example/t?audience=sigstore"
        );
    }
}
