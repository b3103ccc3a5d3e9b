//! GitHub Actions secrets: the libsodium sealed box and the three REST endpoints it takes.
//!
//! `GET …/secrets/public-key` gives an X25519 key and its id; each value is sealed to it
//! (`crypto_box_seal`: an ephemeral X25519 key, XSalsa20-Poly1305, the nonce from BLAKE2b of both public
//! keys, via the `crypto_box` crate) and sent as `PUT …/secrets/{NAME}` with
//! `{"encrypted_value", "key_id"}` (organisation secrets add `visibility`). `GET …/secrets/{NAME}` tells
//! whether `COSIGN_PUBLIC_KEY` already exists.
//!
//! Why not octocrab: it builds its own hyper client, so these calls would bypass [`crate::net::Http`]
//! (our timeouts, retries with backoff on 5xx/429/connection faults, user agent, and the refusal of plain
//! HTTP to anything but loopback), and it pulls a large dependency tree into a tool that needs three
//! small, stable endpoints. Its secrets API would also still leave the sealing and the status-to-hint
//! mapping to us. Plain requests through `Http` keep one network door and one error style.

use super::StoreError;
use crate::net::server_message;
use crate::net::{Http, HttpOptions};
use crate::secret::SecretString;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;

/// The default GitHub REST API base.
pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";

/// `github://OWNER/REPO` (optionally an environment) or `github://ORG`.
#[derive(Debug)]
pub(crate) struct GitHubTarget {
    /// whose secrets
    pub(crate) scope: GitHubScope,
    /// the REST API base, without a trailing slash (from `GITHUB_HOST` as cosign reads it, else
    /// `GITHUB_API_URL`, else [`DEFAULT_API_URL`])
    pub(crate) api_url: String,
    /// which variable named it (`GITHUB_HOST`, `GITHUB_API_URL`) or `default`
    pub(crate) api_from: &'static str,
    /// a token that may write Actions secrets
    pub(crate) token: SecretString,
}

/// Whose Actions secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GitHubScope {
    /// A repository's secrets.
    Repo {
        /// owner (user or organisation)
        owner: String,
        /// repository name
        repo: String,
    },
    /// A deployment environment's secrets.
    Environment {
        /// owner (user or organisation)
        owner: String,
        /// repository name
        repo: String,
        /// environment name
        environment: String,
    },
    /// An organisation's secrets.
    Org {
        /// organisation
        org: String,
        /// which repositories may read them
        visibility: OrgVisibility,
    },
}

/// Which repositories of an organisation may read its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrgVisibility {
    /// every repository
    All,
    /// private and internal repositories
    Private,
    /// only repositories picked afterwards in the organisation settings
    Selected,
}

impl OrgVisibility {
    /// The API's name for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrgVisibility::All => "all",
            OrgVisibility::Private => "private",
            OrgVisibility::Selected => "selected",
        }
    }
}

/// The API version header GitHub documents for these endpoints.
const API_VERSION: &str = "2022-11-28";
const SERVICE: &str = "GitHub";

/// The public key GitHub hands out for sealing secrets of one repository, environment or organisation.
#[derive(Debug, Clone)]
pub(crate) struct SealingKey {
    /// GitHub's id for the key; sent back with every secret
    pub(crate) key_id: String,
    /// the X25519 public key
    pub(crate) key: crypto_box::PublicKey,
}

#[derive(Deserialize)]
struct PublicKeyBody {
    key_id: String,
    key: String,
}

impl SealingKey {
    /// Parses GitHub's `{"key_id": …, "key": "<base64 of 32 bytes>"}`.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, String> {
        let b: PublicKeyBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let raw = B64
            .decode(b.key.trim())
            .map_err(|e| format!("the key is not base64: {e}"))?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| format!("the key has {} bytes, not 32", raw.len()))?;
        if b.key_id.is_empty() {
            return Err("the key_id is empty".into());
        }
        Ok(SealingKey {
            key_id: b.key_id,
            key: crypto_box::PublicKey::from(bytes),
        })
    }

    /// `crypto_box_seal(value, key)`, base64: what GitHub's `encrypted_value` takes for secret `name`.
    pub(crate) fn seal(&self, name: &'static str, value: &[u8]) -> Result<String, StoreError> {
        self.key
            .seal(&mut rand_core::OsRng, value)
            .map(|b| B64.encode(b))
            .map_err(|_| StoreError::Seal(name))
    }
}

/// How the target is named in messages: "repository acme/app", "environment `prod` of repository
/// acme/app", "organisation acme".
pub(crate) fn describe(scope: &GitHubScope) -> String {
    match scope {
        GitHubScope::Repo { owner, repo } => format!("repository {owner}/{repo}"),
        GitHubScope::Environment {
            owner,
            repo,
            environment,
        } => format!("environment `{environment}` of repository {owner}/{repo}"),
        GitHubScope::Org { org, .. } => format!("organisation {org}"),
    }
}

/// The `…/secrets` collection URL of a scope.
pub(crate) fn secrets_url(api: &str, scope: &GitHubScope) -> String {
    match scope {
        GitHubScope::Repo { owner, repo } => format!("{api}/repos/{owner}/{repo}/actions/secrets"),
        GitHubScope::Environment {
            owner,
            repo,
            environment,
        } => format!(
            "{api}/repos/{owner}/{repo}/environments/{}/secrets",
            encode_segment(environment)
        ),
        GitHubScope::Org { org, .. } => format!("{api}/orgs/{org}/actions/secrets"),
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A client for one scope's Actions secrets.
pub(crate) struct SecretsApi<'a> {
    http: Http,
    target: &'a GitHubTarget,
    base: String,
    name: String,
}

impl<'a> SecretsApi<'a> {
    /// A client for `target`'s secrets.
    pub(crate) fn new(target: &'a GitHubTarget) -> Result<Self, StoreError> {
        Ok(SecretsApi {
            http: Http::new(HttpOptions::default())?,
            base: secrets_url(&target.api_url, &target.scope),
            name: describe(&target.scope),
            target,
        })
    }

    fn request(
        &self,
        c: &reqwest::Client,
        method: reqwest::Method,
        url: reqwest::Url,
    ) -> reqwest::RequestBuilder {
        c.request(method, url)
            .bearer_auth(self.target.token.expose())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// The answer's body, at most [`crate::net::API_ANSWER`].
    async fn body(&self, resp: reqwest::Response, action: &str) -> Result<Vec<u8>, StoreError> {
        let url = resp.url().to_string();
        crate::net::read_answer(resp, &url, crate::net::API_ANSWER, self.http.deadline())
            .await
            .map_err(|e| StoreError::BadResponse {
                service: SERVICE,
                action: action.into(),
                reason: e.to_string(),
            })
    }

    async fn status_error(&self, resp: reqwest::Response, action: &str) -> StoreError {
        let status = resp.status().as_u16();
        let body = self.body(resp, action).await.unwrap_or_default();
        StoreError::Status {
            service: SERVICE,
            action: action.into(),
            status,
            message: server_message(&body),
            target: self.name.clone(),
        }
    }

    /// The key to seal secrets with.
    pub(crate) async fn sealing_key(&self) -> Result<SealingKey, StoreError> {
        let action = format!("reading the secrets public key of {}", self.name);
        let url = format!("{}/public-key", self.base);
        let resp = self
            .http
            .send(&url, |c, u| self.request(c, reqwest::Method::GET, u))
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp, &action).await);
        }
        let body = self.body(resp, &action).await?;
        SealingKey::from_json(&body).map_err(|reason| StoreError::BadResponse {
            service: SERVICE,
            action,
            reason,
        })
    }

    /// Whether the secret `name` exists (its value cannot be read, only its metadata).
    pub(crate) async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        let action = format!("checking for secret {name} in {}", self.name);
        let url = format!("{}/{name}", self.base);
        let resp = self
            .http
            .send(&url, |c, u| self.request(c, reqwest::Method::GET, u))
            .await?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_error(resp, &action).await),
        }
    }

    /// Creates or updates the secret `name` with an already sealed value; true when it was created.
    pub(crate) async fn put(
        &self,
        key: &SealingKey,
        name: &str,
        sealed_b64: &str,
    ) -> Result<bool, StoreError> {
        let action = format!("writing secret {name} to {}", self.name);
        let url = format!("{}/{name}", self.base);
        let mut body = serde_json::json!({
            "encrypted_value": sealed_b64,
            "key_id": key.key_id,
        });
        if let GitHubScope::Org { visibility, .. } = &self.target.scope {
            body["visibility"] = visibility.as_str().into();
        }
        let resp = self
            .http
            .send(&url, |c, u| {
                self.request(c, reqwest::Method::PUT, u).json(&body)
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp, &action).await);
        }
        Ok(resp.status() == reqwest::StatusCode::CREATED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_per_scope() {
        let api = "https://api.github.com";
        assert_eq!(
            secrets_url(
                api,
                &GitHubScope::Repo {
                    owner: "acme".into(),
                    repo: "app".into()
                }
            ),
            "https://api.github.com/repos/acme/app/actions/secrets"
        );
        assert_eq!(
            secrets_url(
                api,
                &GitHubScope::Environment {
                    owner: "acme".into(),
                    repo: "app".into(),
                    environment: "prod eu/1".into()
                }
            ),
            "https://api.github.com/repos/acme/app/environments/prod%20eu%2F1/secrets"
        );
        assert_eq!(
            secrets_url(
                api,
                &GitHubScope::Org {
                    org: "acme".into(),
                    visibility: OrgVisibility::All
                }
            ),
            "https://api.github.com/orgs/acme/actions/secrets"
        );
    }

    #[test]
    fn sealed_box_opens_with_the_secret_key() {
        // Round trip inside the crate only; the integration tests open the boxes with real libsodium.
        let sk = crypto_box::SecretKey::generate(&mut rand_core::OsRng);
        let body = format!(
            r#"{{"key_id":"568250167242549743","key":"{}"}}"#,
            B64.encode(sk.public_key().as_bytes())
        );
        let key = SealingKey::from_json(body.as_bytes()).unwrap();
        assert_eq!(key.key_id, "568250167242549743");
        let sealed = B64.decode(key.seal("X", b"hunter2").unwrap()).unwrap();
        assert_eq!(sealed.len(), 32 + 16 + 7);
        assert_eq!(sk.unseal(&sealed).unwrap(), b"hunter2");
    }

    #[test]
    fn bad_public_keys_are_named() {
        assert!(SealingKey::from_json(br#"{"key_id":"1","key":"AAAA"}"#)
            .unwrap_err()
            .contains("3 bytes"));
        assert!(SealingKey::from_json(br#"{"key_id":"1","key":"!!"}"#)
            .unwrap_err()
            .contains("base64"));
        assert!(SealingKey::from_json(b"{}").is_err());
    }
}

/// The three endpoints against a loopback server with canned answers (issue 16's mutation run: each
/// test fails with a mutant of this file).
#[cfg(test)]
mod endpoints {
    use super::*;
    use crate::sigstore::fixtures::recording;

    fn target(api_url: String, scope: GitHubScope) -> GitHubTarget {
        GitHubTarget {
            scope,
            api_url,
            api_from: "GITHUB_API_URL",
            token: SecretString::new("ghs_test-token".into()),
        }
    }

    fn repo() -> GitHubScope {
        GitHubScope::Repo {
            owner: "acme".into(),
            repo: "app".into(),
        }
    }

    #[test]
    fn scopes_are_named_and_segments_keep_unreserved_characters() {
        let env = GitHubScope::Environment {
            owner: "acme".into(),
            repo: "app".into(),
            environment: "prod".into(),
        };
        let org = GitHubScope::Org {
            org: "acme".into(),
            visibility: OrgVisibility::Private,
        };
        assert_eq!(describe(&repo()), "repository acme/app");
        assert_eq!(describe(&env), "environment `prod` of repository acme/app");
        assert_eq!(describe(&org), "organisation acme");
        assert_eq!(encode_segment("a-Z.9_~"), "a-Z.9_~");
        assert_eq!(encode_segment("a b/é"), "a%20b%2F%C3%A9");
        let names = [
            OrgVisibility::All,
            OrgVisibility::Private,
            OrgVisibility::Selected,
        ]
        .map(OrgVisibility::as_str);
        assert_eq!(names, ["all", "private", "selected"]);
    }

    #[tokio::test]
    async fn the_sealing_key_is_read_with_the_token_and_api_version() {
        let sk = crypto_box::SecretKey::generate(&mut rand_core::OsRng);
        let body = format!(
            r#"{{"key_id":"42","key":"{}"}}"#,
            B64.encode(sk.public_key().as_bytes())
        );
        let (url, seen) = recording(200, body.into_bytes());
        let t = target(url, repo());
        let key = SecretsApi::new(&t).unwrap().sealing_key().await.unwrap();
        assert_eq!(key.key_id, "42");
        assert_eq!(key.key.as_bytes(), sk.public_key().as_bytes());
        let request = seen.lock().unwrap()[0].to_ascii_lowercase();
        assert!(
            request.starts_with("get /repos/acme/app/actions/secrets/public-key "),
            "{request}"
        );
        assert!(
            request.contains("authorization: bearer ghs_test-token"),
            "{request}"
        );
        assert!(
            request.contains("x-github-api-version: 2022-11-28"),
            "{request}"
        );
        // A refusal is named with its status, a key that is not one as such.
        let (url, _) = recording(403, br#"{"message":"Resource not accessible"}"#.to_vec());
        let t = target(url, repo());
        let e = SecretsApi::new(&t)
            .unwrap()
            .sealing_key()
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Status { status: 403, message, .. } if message.contains("Resource not accessible")),
            "{e}"
        );
        let (url, _) = recording(200, br#"{"key_id":"42","key":"AAAA"}"#.to_vec());
        let t = target(url, repo());
        let e = SecretsApi::new(&t)
            .unwrap()
            .sealing_key()
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::BadResponse { .. }), "{e}");
    }

    #[tokio::test]
    async fn a_secret_exists_on_2xx_not_on_404_and_anything_else_is_an_error() {
        for (status, want) in [(200, Some(true)), (404, Some(false)), (403, None)] {
            let (url, seen) = recording(status, b"{}".to_vec());
            let t = target(url, repo());
            let got = SecretsApi::new(&t)
                .unwrap()
                .exists("COSIGN_PUBLIC_KEY")
                .await;
            match want {
                Some(b) => assert_eq!(got.unwrap(), b, "{status}"),
                None => assert!(
                    matches!(got, Err(StoreError::Status { status: 403, .. })),
                    "{status}"
                ),
            }
            let request = seen.lock().unwrap()[0].clone();
            assert!(
                request.starts_with("GET /repos/acme/app/actions/secrets/COSIGN_PUBLIC_KEY "),
                "{request}"
            );
        }
    }

    #[tokio::test]
    async fn a_put_sends_the_sealed_value_key_id_and_org_visibility() {
        let key = SealingKey {
            key_id: "42".into(),
            key: crypto_box::SecretKey::generate(&mut rand_core::OsRng).public_key(),
        };
        for (status, created) in [(201, Some(true)), (204, Some(false)), (422, None)] {
            let (url, seen) = recording(status, b"{}".to_vec());
            let org = GitHubScope::Org {
                org: "acme".into(),
                visibility: OrgVisibility::Selected,
            };
            let t = target(url, org);
            let got = SecretsApi::new(&t)
                .unwrap()
                .put(&key, "COSIGN_PASSWORD", "c2VhbGVk")
                .await;
            match created {
                Some(c) => assert_eq!(got.unwrap(), c, "{status}"),
                None => assert!(
                    matches!(got, Err(StoreError::Status { status: 422, .. })),
                    "{status}"
                ),
            }
            let request = seen.lock().unwrap()[0].clone();
            assert!(
                request.starts_with("PUT /orgs/acme/actions/secrets/COSIGN_PASSWORD "),
                "{request}"
            );
            let body: serde_json::Value =
                serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"encrypted_value": "c2VhbGVk", "key_id": "42", "visibility": "selected"})
            );
        }
    }
}
