//! The registry client: `oci-client` configured from our settings (timeouts, user agent, plain HTTP only
//! when allowed), with credentials resolved per registry, retries for transient faults, and its errors
//! turned into [`OciError`]s that say what to do.

use super::auth::{self, Credentials};
use super::{sha256_digest, ImageRef, OciError, MANIFEST_TYPES};
use crate::net::{self, HttpOptions};
use crate::secret::SecretString;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::Client;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryOptions {
    /// Talk plain HTTP to the registries (`--allow-insecure-registry`, alias `--allow-http-registry`).
    pub(crate) allow_insecure: bool,
    /// `--registry-username`
    pub(crate) username: Option<String>,
    /// `--registry-password` (or its environment variable)
    pub(crate) password: Option<SecretString>,
    /// which registries get `username`/`password`
    pub(crate) scope: CredentialScope,
    /// the docker config file to read other credentials from (`$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`), when there is a place to look
    pub(crate) docker_config: Option<PathBuf>,
}

/// Which registries the given credentials are sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum CredentialScope {
    /// Every registry of the run.
    #[default]
    Any,
    /// GitHub's container registries only (`ghcr.io`, `*.pkg.github.com`, and `containers.HOST` of a
    /// GitHub Enterprise Server at `HOST`): the job's GitHub token means nothing elsewhere, and sending
    /// it elsewhere would hand it to a third party.
    GitHubOnly {
        /// the GitHub Enterprise Server host, if any (`GITHUB_SERVER_URL`'s host)
        server_host: Option<String>,
    },
}

/// True for GitHub's own container registries.
pub(crate) fn is_github_registry(registry: &str, server_host: Option<&str>) -> bool {
    registry == "ghcr.io"
        || registry.ends_with(".pkg.github.com")
        || server_host.is_some_and(|h| h != "github.com" && registry == format!("containers.{h}"))
}

impl CredentialScope {
    /// Whether credentials go to `registry`.
    pub(crate) fn covers(&self, registry: &str) -> bool {
        match self {
            CredentialScope::Any => true,
            CredentialScope::GitHubOnly { server_host } => {
                is_github_registry(registry, server_host.as_deref())
            }
        }
    }
}

/// A manifest as the registry stores it.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    /// the exact bytes
    pub(crate) bytes: Vec<u8>,
    /// its `mediaType` (from the body; OCI manifests without one count as image manifests)
    pub(crate) media_type: String,
}

impl Manifest {
    /// True for an OCI image index or a Docker manifest list.
    pub(crate) fn is_index(&self) -> bool {
        self.media_type == super::OCI_INDEX || self.media_type == super::DOCKER_LIST
    }
}

/// The client for every registry of one run.
pub(crate) struct Registry {
    client: Client,
    opts: RegistryOptions,
    creds: Mutex<HashMap<String, Credentials>>,
    retry: net::Retry,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// What an operation was about, for error messages.
struct Ctx<'a> {
    image: &'a ImageRef,
    action: &'static str,
    had_credentials: bool,
    https: bool,
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::NotFound
                    | OciErrorCode::BlobUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => r.is_connect() || r.is_timeout() || r.is_request(),
        OciDistributionError::ServerError { code, .. } => {
            reqwest::StatusCode::from_u16(*code).is_ok_and(net::is_transient)
        }
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| e.code == OciErrorCode::Toomanyrequests),
        _ => false,
    }
}

fn map_error(e: OciDistributionError, ctx: &Ctx<'_>) -> OciError {
    let registry = ctx.image.registry().to_string();
    let reference = ctx.image.to_string();
    if is_not_found(&e) {
        return OciError::NotFound { reference };
    }
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => OciError::Unauthorized {
            registry,
            reference,
            had_credentials: ctx.had_credentials,
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes = &envelope.errors;
            if codes.iter().any(|c| c.code == OciErrorCode::Unauthorized) {
                return OciError::Unauthorized {
                    registry,
                    reference,
                    had_credentials: ctx.had_credentials,
                };
            }
            if codes.iter().any(|c| c.code == OciErrorCode::Denied) {
                return OciError::Denied {
                    registry,
                    reference,
                    action: ctx.action,
                };
            }
            let status = if codes
                .iter()
                .any(|c| c.code == OciErrorCode::Toomanyrequests)
            {
                429
            } else {
                400
            };
            let message = codes
                .iter()
                .map(|c| {
                    if c.message.is_empty() {
                        format!("{:?}", c.code)
                    } else {
                        c.message.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            OciError::Registry {
                registry,
                reference,
                status,
                message,
            }
        }
        OciDistributionError::ServerError { code: 403, .. } => OciError::Denied {
            registry,
            reference,
            action: ctx.action,
        },
        OciDistributionError::ServerError { code, message, .. } => OciError::Registry {
            registry,
            reference,
            status: code,
            message: said(&message),
        },
        OciDistributionError::RequestError(r) => OciError::Unreachable {
            registry,
            reason: net::error_chain(&r),
            https: ctx.https,
        },
        OciDistributionError::DigestError(d) => OciError::Malformed {
            what: "the manifest",
            reference,
            reason: d.to_string(),
        },
        other => OciError::Registry {
            registry,
            reference,
            status: 0,
            message: said(&net::error_chain(&other)),
        },
    }
}

/// A registry's message in one line, `(no message)` when it gave none.
fn said(text: &str) -> String {
    let line = net::one_line(text);
    if line.is_empty() {
        "(no message)".into()
    } else {
        line
    }
}

impl Registry {
    /// A client for this run. Plain HTTP is used for every registry when `allow_insecure` is set.
    pub(crate) fn new(opts: RegistryOptions) -> Result<Self, OciError> {
        if opts.username.is_some() != opts.password.is_some() {
            return Err(OciError::Options(
                "--registry-username and --registry-password go together".into(),
            ));
        }
        let defaults = HttpOptions::default();
        let config = oci_client::client::ClientConfig {
            protocol: if opts.allow_insecure {
                oci_client::client::ClientProtocol::Http
            } else {
                oci_client::client::ClientProtocol::Https
            },
            // One PUT per blob (signatures are small): two requests instead of three.
            use_monolithic_push: true,
            connect_timeout: Some(defaults.connect_timeout),
            read_timeout: Some(defaults.timeout),
            user_agent: net::USER_AGENT,
            platform_resolver: None,
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| {
            OciError::Options(format!(
                "cannot set up the registry client: {}",
                net::error_chain(&e)
            ))
        })?;
        Ok(Registry {
            client,
            opts,
            creds: Mutex::new(HashMap::new()),
            retry: defaults.retry,
        })
    }

    /// The credentials for `image`'s registry (resolved once per registry).
    fn credentials(&self, image: &ImageRef) -> Result<Credentials, OciError> {
        let registry = image.registry().to_string();
        if let Some(c) = self
            .creds
            .lock()
            .ok()
            .and_then(|m| m.get(&registry).cloned())
        {
            return Ok(c);
        }
        let creds = match (&self.opts.username, &self.opts.password) {
            (Some(u), Some(p)) if self.opts.scope.covers(&registry) => Credentials::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            _ => match &self.opts.docker_config {
                Some(path) => {
                    auth::from_docker_config(path, &registry)?.unwrap_or(Credentials::Anonymous)
                }
                None => Credentials::Anonymous,
            },
        };
        if let Ok(mut m) = self.creds.lock() {
            m.insert(registry, creds.clone());
        }
        Ok(creds)
    }

    /// When the given credentials are held back from `image`'s registry (see [`CredentialScope`]):
    /// the notice to show, naming what is used instead.
    pub(crate) fn withheld_notice(&self, image: &ImageRef) -> Option<String> {
        let registry = image.registry();
        if self.opts.password.is_none() || self.opts.scope.covers(registry) {
            return None;
        }
        // Held back, the user name and password are not used: Basic credentials come from the docker
        // config file.
        let instead = match (self.credentials(image), &self.opts.docker_config) {
            (Ok(Credentials::Basic { .. }), Some(path)) => {
                format!("using the credentials of {}", path.display())
            }
            _ => format!(
                "set registry-username and registry-password for {registry}, or a docker config with an entry for it (DOCKER_CONFIG)"
            ),
        };
        Some(format!(
            "not sending the job's GitHub token to {registry} (it is for GitHub's registry only); {instead}"
        ))
    }

    /// The credentials' passwords, so that the caller can mask them before any output.
    pub(crate) fn secrets(&self, images: &[ImageRef]) -> Result<Vec<SecretString>, OciError> {
        let mut out = Vec::new();
        for i in images {
            if let Credentials::Basic { password, .. } = self.credentials(i)? {
                out.push(password);
            }
        }
        Ok(out)
    }

    async fn prepare(
        &self,
        image: &ImageRef,
    ) -> Result<(oci_client::Reference, RegistryAuth, bool), OciError> {
        let creds = self.credentials(image)?;
        let r = image.to_oci();
        let auth = creds.to_oci();
        self.client
            .store_auth_if_needed(r.resolve_registry(), &auth)
            .await;
        Ok((r, auth, creds.is_some()))
    }

    async fn retry<T, F, Fut>(&self, ctx: &Ctx<'_>, mut op: F) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if self.retry.allows(attempt) && is_transient(&e) => {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(map_error(e, ctx)),
            }
        }
    }

    fn ctx<'a>(&self, image: &'a ImageRef, action: &'static str, had_credentials: bool) -> Ctx<'a> {
        Ctx {
            image,
            action,
            had_credentials,
            https: !self.opts.allow_insecure,
        }
    }

    /// The digest a tag (or digest) points at, by HEAD with every manifest media type accepted.
    pub(crate) async fn resolve_digest(&self, image: &ImageRef) -> Result<String, OciError> {
        let (r, auth, had) = self.prepare(image).await?;
        let ctx = self.ctx(image, "pull", had);
        self.retry(&ctx, || self.client.fetch_manifest_digest(&r, &auth))
            .await
    }

    /// The manifest at `image` (tag or digest), or `None` when there is none.
    pub(crate) async fn get_manifest(
        &self,
        image: &ImageRef,
    ) -> Result<Option<Manifest>, OciError> {
        let (r, auth, had) = self.prepare(image).await?;
        let ctx = self.ctx(image, "pull", had);
        let got = self
            .retry(&ctx, || {
                self.client.pull_manifest_raw(&r, &auth, MANIFEST_TYPES)
            })
            .await;
        let (bytes, digest) = match got {
            Ok(v) => v,
            Err(OciError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let bytes = bytes.to_vec();
        // oci-client checked the bytes against the digest header or the digest asked for; the digest we
        // report is always that of the bytes.
        let computed = sha256_digest(&bytes);
        if digest.starts_with("sha256:") && digest != computed {
            return Err(OciError::Malformed {
                what: "the manifest",
                reference: image.to_string(),
                reason: format!("its bytes hash to {computed}, not {digest}"),
            });
        }
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| OciError::Malformed {
                what: "the manifest",
                reference: image.to_string(),
                reason: format!("not JSON: {e}"),
            })?;
        let media_type = match value.get("mediaType").and_then(|m| m.as_str()) {
            Some(m) => m.to_string(),
            None if value.get("manifests").is_some() => super::OCI_INDEX.to_string(),
            None => super::OCI_MANIFEST.to_string(),
        };
        Ok(Some(Manifest { bytes, media_type }))
    }

    /// Stores a manifest under `image`'s tag (or digest).
    pub(crate) async fn put_manifest(
        &self,
        image: &ImageRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), OciError> {
        let (r, _auth, had) = self.prepare(image).await?;
        let ctx = self.ctx(image, "push", had);
        let content_type = reqwest::header::HeaderValue::from_str(media_type).map_err(|_| {
            OciError::Malformed {
                what: "the manifest media type",
                reference: image.to_string(),
                reason: media_type.to_string(),
            }
        })?;
        let body = bytes::Bytes::copy_from_slice(bytes);
        self.retry(&ctx, || {
            self.client
                .push_manifest_raw(&r, body.clone(), content_type.clone())
        })
        .await?;
        Ok(())
    }

    /// Uploads a blob to `image`'s repository unless it is there already; returns its digest.
    pub(crate) async fn push_blob(
        &self,
        image: &ImageRef,
        data: &[u8],
    ) -> Result<String, OciError> {
        let (r, _auth, had) = self.prepare(image).await?;
        let ctx = self.ctx(image, "push", had);
        let digest = sha256_digest(data);
        let exists = self
            .retry(&ctx, || self.client.blob_exists(&r, &digest))
            .await?;
        if !exists {
            let body = bytes::Bytes::copy_from_slice(data);
            self.retry(&ctx, || self.client.push_blob(&r, body.clone(), &digest))
                .await?;
        }
        Ok(digest)
    }

    /// Downloads a blob and checks its digest.
    pub(crate) async fn get_blob(
        &self,
        image: &ImageRef,
        digest: &str,
    ) -> Result<Vec<u8>, OciError> {
        let (r, _auth, had) = self.prepare(image).await?;
        let ctx = self.ctx(image, "pull", had);
        let data = self
            .retry(&ctx, || async {
                let mut out: Vec<u8> = Vec::new();
                self.client.pull_blob(&r, digest, &mut out).await?;
                Ok(out)
            })
            .await?;
        let got = sha256_digest(&data);
        if digest.starts_with("sha256:") && got != digest {
            return Err(OciError::Malformed {
                what: "a blob",
                reference: image.to_string(),
                reason: format!("blob {digest} hashes to {got}"),
            });
        }
        Ok(data)
    }
}
