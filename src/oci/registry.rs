//! The registry client: the few calls of the OCI distribution API ferrosign needs (distribution-spec
//! v1.1 "pull", "push" and "content discovery"), each bounded, on the transport of [`super::client`].
//!
//! - Manifests: `HEAD`/`GET`/`PUT /v2/<name>/manifests/<tag|digest>`, `Accept` = the OCI and Docker
//!   manifest and index types (as go-containerregistry's `remote.Get` asks); bodies at most
//!   [`MAX_MANIFEST_BYTES`]; the digest of what was read is computed, and must equal the digest asked for.
//! - Blobs: `HEAD` is never needed ([`Registry::push_blob`]): a blob this run put in the repository is
//!   not sent again; else one `POST /v2/<name>/blobs/uploads/?digest=<digest>` with the bytes, on a
//!   registry that takes that (tried once per registry and run); else a cross-repository mount
//!   (`?mount=<digest>&from=<name>`, from a repository the run put it in, or the repository itself),
//!   which answers `201` when the blob is there already and otherwise opens an upload session (`202` +
//!   `Location`, relative or absolute), finished by one monolithic `PUT <location>?digest=<digest>`. A
//!   session can be opened before the bytes exist ([`Registry::open_upload`]). A download is streamed,
//!   never beyond the descriptor's size, and its sha256 is checked as it arrives.
//!
//! A [`Registry`] is cheap to clone and safe to share between tasks: clones made with
//! [`Registry::for_image`] share connections, credentials, tokens and what was learned of each registry,
//! and each has its own request counter ([`Registry::requests`]).

use super::client::{self, Req, Requests, Shared};
use super::{sha256_digest, ImageRef, OciError, MANIFEST_TYPES};
use crate::secret::SecretString;
use reqwest::{Method, StatusCode};
use sha2::Digest as _;
use std::path::PathBuf;
use std::sync::Arc;

/// The largest manifest or index read or written (4 MiB, the distribution spec's suggested minimum that
/// registries accept).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// [`MAX_MANIFEST_BYTES`] as the limit [`crate::net::read_answer`] reads manifests and indexes with.
pub(crate) const MANIFEST_ANSWER: crate::net::AnswerLimit = crate::net::AnswerLimit {
    what: "manifests",
    name: "MAX_MANIFEST_BYTES",
    max: MAX_MANIFEST_BYTES,
};
/// The deadline of one manifest request (`HEAD`, `GET`, `PUT`), its whole answer included: 15 s. A
/// manifest is small; a stalled write must end while the writers it could overwrite still watch (see
/// [`super::rmw`]).
pub(crate) const MANIFEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryOptions {
    /// `--allow-insecure-registry`: HTTPS without certificate verification.
    pub(crate) allow_insecure: bool,
    /// `--allow-http-registry`: plain HTTP after a failed HTTPS connection, for every registry (local
    /// registries get it without the flag; see [`super::client`]).
    pub(crate) allow_http: bool,
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
    /// `sha256:` of the bytes
    pub(crate) digest: String,
    /// its `mediaType` (from the body, else the `Content-Type`; OCI manifests without either count as
    /// image manifests, bodies with `manifests` as indexes)
    pub(crate) media_type: String,
}

impl Manifest {
    /// True for an OCI image index or a Docker manifest list.
    pub(crate) fn is_index(&self) -> bool {
        self.media_type == super::OCI_INDEX || self.media_type == super::DOCKER_LIST
    }
}

/// What a `HEAD` of a manifest told: its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestHead {
    /// `Content-Type`
    pub(crate) media_type: String,
    /// `Content-Length`, bytes
    pub(crate) size: u64,
    /// `Docker-Content-Digest`
    pub(crate) digest: String,
}

/// An upload session opened before its blob's bytes were known ([`Registry::open_upload`]).
#[derive(Debug)]
pub(crate) struct Upload {
    /// the session's absolute URL; `None`: the registry takes one-request uploads, nothing opened
    url: Option<String>,
}

/// What a manifest `PUT` answered.
#[derive(Debug, Clone)]
pub(crate) struct Pushed {
    /// the `OCI-Subject` header: the registry indexed the manifest's `subject` (referrers API)
    pub(crate) oci_subject: Option<String>,
}

/// The client for the registries of one run; see the module documentation.
#[derive(Clone)]
pub(crate) struct Registry {
    shared: Arc<Shared>,
    requests: Requests,
    push: bool,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("opts", &self.shared.opts)
            .field("requests", &self.requests.get())
            .finish_non_exhaustive()
    }
}

fn accept_manifests() -> String {
    MANIFEST_TYPES.join(", ")
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

impl Registry {
    /// A client for this run.
    pub(crate) fn new(opts: RegistryOptions) -> Result<Self, OciError> {
        if opts.username.is_some() != opts.password.is_some() {
            return Err(OciError::Options(
                "--registry-username and --registry-password go together".into(),
            ));
        }
        Ok(Registry {
            shared: Arc::new(Shared::new(opts)?),
            requests: Requests::default(),
            push: false,
        })
    }

    /// A handle for one image: same connections, credentials and tokens, its own request counter.
    /// `push`: the image will be written to (tokens are asked with `pull,push` from the start, so one
    /// token serves the whole operation).
    pub(crate) fn for_image(&self, push: bool) -> Registry {
        Registry {
            shared: self.shared.clone(),
            requests: Requests::default(),
            push,
        }
    }

    /// What `registry`'s referrers API answered earlier in this run: `Some(true)` it answered (the
    /// registry keeps the lists), `Some(false)` "not here" (writers go straight to the tag schema),
    /// `None` not asked yet ([`Registry::note_referrers_api`]).
    pub(crate) fn referrers_api(&self, registry: &str) -> Option<bool> {
        lock(&self.shared.referrers_api).get(registry).copied()
    }

    /// Remembers for the rest of the run whether `registry` has the referrers API.
    pub(crate) fn note_referrers_api(&self, registry: &str, has: bool) {
        lock(&self.shared.referrers_api).insert(registry.to_string(), has);
    }

    /// The repositories of `image`'s registry that blob `digest` is known to be in this run.
    fn blob_known_in(&self, image: &ImageRef, digest: &str) -> Vec<String> {
        lock(&self.shared.known_blobs)
            .get(&(image.registry().to_string(), digest.to_string()))
            .map(|repos| repos.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Remembers that blob `digest` is in `image`'s repository (up to [`client::MAX_KNOWN_BLOBS`]).
    fn note_blob(&self, image: &ImageRef, digest: &str) {
        let mut known = lock(&self.shared.known_blobs);
        let key = (image.registry().to_string(), digest.to_string());
        if known.len() < client::MAX_KNOWN_BLOBS || known.contains_key(&key) {
            known
                .entry(key)
                .or_default()
                .insert(image.repository().to_string());
        }
    }

    /// Forgets every blob remembered in `image`'s repository (a manifest naming one was refused as
    /// unknown: it is uploaded again).
    fn forget_blobs(&self, image: &ImageRef) {
        let mut known = lock(&self.shared.known_blobs);
        for ((registry, _), repos) in known.iter_mut() {
            if registry == image.registry() {
                repos.remove(image.repository());
            }
        }
        known.retain(|_, repos| !repos.is_empty());
    }

    /// Requests this handle (and its clones) sent so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.get()
    }

    /// When the given credentials are held back from `image`'s registry (see [`CredentialScope`]):
    /// the notice to show, naming what is used instead.
    pub(crate) fn withheld_notice(&self, image: &ImageRef) -> Option<String> {
        let registry = image.registry();
        let opts = &self.shared.opts;
        if opts.password.is_none() || opts.scope.covers(registry) {
            return None;
        }
        // Held back, the user name and password are not used: Basic credentials come from the docker
        // config file.
        let instead = match (self.shared.credentials(registry), &opts.docker_config) {
            (Ok(super::auth::Credentials::Basic { .. }), Some(path)) => {
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
            if let super::auth::Credentials::Basic { password, .. } =
                self.shared.credentials(i.registry())?
            {
                out.push(password);
            }
        }
        Ok(out)
    }

    pub(crate) async fn send(
        &self,
        image: &ImageRef,
        req: &Req,
    ) -> Result<reqwest::Response, OciError> {
        self.shared
            .send(image.registry(), req, self.push, &self.requests)
            .await
    }

    pub(crate) async fn error(
        &self,
        image: &ImageRef,
        what: &str,
        action: &'static str,
        resp: reqwest::Response,
    ) -> OciError {
        self.shared
            .status_error(image.registry(), what, action, resp)
            .await
    }

    fn manifest_req(method: Method, image: &ImageRef) -> Req {
        let mut r = Req::new(
            method,
            image.repository(),
            format!("/v2/{}/manifests/{}", image.repository(), image.reference()),
            image.to_string(),
        );
        r.accept = Some(accept_manifests());
        r.timeout = Some(MANIFEST_DEADLINE);
        r
    }

    /// Sends a manifest `HEAD` or `GET` for `image`: the answer when it succeeded, `None` for 404, the
    /// registry's error otherwise.
    async fn read_manifest(
        &self,
        method: Method,
        image: &ImageRef,
    ) -> Result<Option<reqwest::Response>, OciError> {
        let resp = self.send(image, &Self::manifest_req(method, image)).await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.error(image, &image.to_string(), "pull", resp).await);
        }
        Ok(Some(resp))
    }

    /// The descriptor of the manifest at `image` (tag or digest) from a `HEAD`, or `None` when there is
    /// none. Falls back to a `GET` when the registry leaves out the digest or size.
    pub(crate) async fn head_manifest(
        &self,
        image: &ImageRef,
    ) -> Result<Option<ManifestHead>, OciError> {
        let Some(resp) = self.read_manifest(Method::HEAD, image).await? else {
            return Ok(None);
        };
        let digest = client::header(&resp, "docker-content-digest").filter(|d| valid_digest(d));
        let size = resp
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let media_type = client::header(&resp, "content-type");
        match (digest, size, media_type) {
            (Some(digest), Some(size), Some(media_type))
                if image.digest().is_none_or(|d| d == digest) && size <= MAX_MANIFEST_BYTES =>
            {
                Ok(Some(ManifestHead {
                    media_type: bare_media_type(&media_type).to_string(),
                    size,
                    digest,
                }))
            }
            _ => Ok(self.get_manifest(image).await?.map(|m| ManifestHead {
                media_type: m.media_type,
                size: m.bytes.len() as u64,
                digest: m.digest,
            })),
        }
    }

    /// The digest a tag (or digest) points at, by `HEAD`; an error when there is no such image.
    pub(crate) async fn resolve_digest(&self, image: &ImageRef) -> Result<String, OciError> {
        match self.head_manifest(image).await? {
            Some(h) => Ok(h.digest),
            None => Err(OciError::NotFound {
                reference: image.to_string(),
            }),
        }
    }

    /// The manifest at `image` (tag or digest), or `None` when the registry answers 404. Bodies over
    /// [`MAX_MANIFEST_BYTES`] are refused; by digest, the bytes must hash to it.
    pub(crate) async fn get_manifest(
        &self,
        image: &ImageRef,
    ) -> Result<Option<Manifest>, OciError> {
        let Some(resp) = self.read_manifest(Method::GET, image).await? else {
            return Ok(None);
        };
        let header_digest = client::header(&resp, "docker-content-digest");
        let content_type = client::header(&resp, "content-type");
        let url = resp.url().to_string();
        let bytes = crate::net::read_answer(resp, &url, MANIFEST_ANSWER, MANIFEST_DEADLINE)
            .await
            .map_err(|e| {
                client::body_error(image.registry(), &image.to_string(), "the manifest", e)
            })?;
        let computed = sha256_digest(&bytes);
        let expected = image
            .digest()
            .map(str::to_string)
            .or(header_digest.filter(|d| d.starts_with("sha256:")));
        if let Some(want) = expected {
            if want != computed {
                return Err(OciError::Malformed {
                    what: "the manifest",
                    reference: image.to_string(),
                    reason: format!("its bytes hash to {computed}, not {want}"),
                });
            }
        }
        let media_type =
            manifest_media_type(&bytes, content_type.as_deref()).map_err(|reason| {
                OciError::Malformed {
                    what: "the manifest",
                    reference: image.to_string(),
                    reason,
                }
            })?;
        Ok(Some(Manifest {
            bytes,
            digest: computed,
            media_type,
        }))
    }

    /// Stores a manifest under `image`'s tag (or digest). Manifests over [`MAX_MANIFEST_BYTES`] are not
    /// sent.
    pub(crate) async fn put_manifest(
        &self,
        image: &ImageRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Pushed, OciError> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(OciError::TooLarge {
                what: "the manifest to write",
                reference: image.to_string(),
                limit: MAX_MANIFEST_BYTES,
                limit_name: "MAX_MANIFEST_BYTES",
            });
        }
        let mut req = Self::manifest_req(Method::PUT, image);
        req.accept = None;
        req.content_type = Some(media_type.to_string());
        req.body = Some(bytes::Bytes::copy_from_slice(bytes));
        let resp = self.send(image, &req).await?;
        if !resp.status().is_success() {
            let e = self.error(image, &image.to_string(), "push", resp).await;
            if e.is_blob_unknown() {
                // A blob remembered as there is not (anymore): the retry uploads them again.
                self.forget_blobs(image);
            }
            return Err(e);
        }
        let oci_subject = client::header(&resp, "oci-subject");
        Ok(Pushed { oci_subject })
    }

    /// Uploads a blob to `image`'s repository unless it is known to be there; returns its digest.
    /// Requests (see the module documentation):
    /// - known to be in this repository this run (pushed, mounted): none;
    /// - a registry that takes a blob in one `POST …/uploads/?digest=` (distribution-spec "MAY"; tried
    ///   once per registry and run, remembered; go-containerregistry's registry does): one; one that
    ///   answers `202` instead (it ignored the body and opened a session: Debian's docker-registry
    ///   2.8.2) gets the `PUT`: two, and the mount forms below from then on;
    /// - known to be in another repository of the registry: a mount from it (`201`: one; a `202`
    ///   opens a session, finished by a `PUT`: two);
    /// - otherwise a mount from the repository itself: `201` when the blob is there (one), else
    ///   `202` + `PUT` (two).
    pub(crate) async fn push_blob(
        &self,
        image: &ImageRef,
        data: &[u8],
    ) -> Result<String, OciError> {
        let digest = sha256_digest(data);
        let repo = image.repository();
        let known = self.blob_known_in(image, &digest);
        if known.iter().any(|r| r == repo) {
            return Ok(digest);
        }
        let monolithic = lock(&self.shared.monolithic).get(image.registry()).copied();
        if monolithic == Some(true) || (known.is_empty() && monolithic.is_none()) {
            let resp = self.post_upload(image, &digest, None, Some(data)).await?;
            let status = resp.status();
            if status == StatusCode::CREATED || status == StatusCode::ACCEPTED {
                lock(&self.shared.monolithic)
                    .insert(image.registry().to_string(), status == StatusCode::CREATED);
                return self.finish_session(image, resp, &digest, data).await;
            }
            if !status.is_client_error()
                || status == StatusCode::UNAUTHORIZED
                || status == StatusCode::FORBIDDEN
            {
                let what = format!("{}/{repo}@{digest}", image.registry());
                return Err(self.error(image, &what, "push", resp).await);
            }
            // Refused the form: the mount form from now on.
            lock(&self.shared.monolithic).insert(image.registry().to_string(), false);
        }
        let from = known.first().map_or(repo, String::as_str);
        let resp = self.post_upload(image, &digest, Some(from), None).await?;
        self.finish_session(image, resp, &digest, data).await
    }

    /// `POST /v2/<name>/blobs/uploads/`: with `mount_from`, `?mount=<digest>&from=<repository>`; with
    /// `body`, `?digest=<digest>` and the bytes; with neither, a plain session opening.
    async fn post_upload(
        &self,
        image: &ImageRef,
        digest: &str,
        mount_from: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, OciError> {
        let repo = image.repository();
        let query = match (mount_from, body) {
            (Some(from), _) => format!("?mount={digest}&from={from}"),
            (None, Some(_)) => format!("?digest={}", digest.replace(':', "%3A")),
            (None, None) => String::new(),
        };
        let mut post = Req::new(
            Method::POST,
            repo,
            format!("/v2/{repo}/blobs/uploads/{query}"),
            format!("{}/{repo}@{digest}", image.registry()),
        );
        if let Some(b) = body {
            post.content_type = Some("application/octet-stream".into());
            post.body = Some(bytes::Bytes::copy_from_slice(b));
        }
        self.send(image, &post).await
    }

    /// The answer to an upload `POST`: `201` → the blob is there; `202` → an upload session, finished
    /// by one monolithic `PUT <location>?digest=<digest>` with `data`; anything else → the registry's
    /// error. Remembers the blob as in `image`'s repository.
    async fn finish_session(
        &self,
        image: &ImageRef,
        resp: reqwest::Response,
        digest: &str,
        data: &[u8],
    ) -> Result<String, OciError> {
        let what = format!("{}/{}@{digest}", image.registry(), image.repository());
        match resp.status() {
            StatusCode::CREATED => {
                self.note_blob(image, digest);
                return Ok(digest.to_string());
            }
            StatusCode::ACCEPTED => {}
            _ => return Err(self.error(image, &what, "push", resp).await),
        }
        let url = self.session_url(image, &resp, &what)?;
        self.put_session(image, url, digest, data).await
    }

    /// The absolute URL of the upload session a `202` answer opened (its `Location`, relative or
    /// absolute).
    fn session_url(
        &self,
        image: &ImageRef,
        resp: &reqwest::Response,
        what: &str,
    ) -> Result<String, OciError> {
        let Some(location) = client::header(resp, "location") else {
            return Err(OciError::Registry {
                registry: image.registry().to_string(),
                reference: what.to_string(),
                status: 202,
                message: "it opened an upload without a Location".into(),
                code: None,
            });
        };
        Ok(
            if location.starts_with("http://") || location.starts_with("https://") {
                location
            } else {
                let scheme = self.shared.scheme(image.registry());
                format!(
                    "{scheme}://{}{}",
                    image.registry(),
                    if location.starts_with('/') {
                        location
                    } else {
                        format!("/{location}")
                    }
                )
            },
        )
    }

    /// Finishes the upload session at `url` with all of `data` in one `PUT …?digest=`.
    async fn put_session(
        &self,
        image: &ImageRef,
        mut url: String,
        digest: &str,
        data: &[u8],
    ) -> Result<String, OciError> {
        let repo = image.repository();
        let what = format!("{}/{repo}@{digest}", image.registry());
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(&digest.replace(':', "%3A"));
        let mut put = Req::new(Method::PUT, repo, url, what.clone());
        put.content_type = Some("application/octet-stream".into());
        put.body = Some(bytes::Bytes::copy_from_slice(data));
        let resp = self.send(image, &put).await?;
        if !resp.status().is_success() {
            return Err(self.error(image, &what, "push", resp).await);
        }
        self.note_blob(image, digest);
        Ok(digest.to_string())
    }

    /// Opens an upload to `image`'s repository for a blob whose bytes are not known yet (e.g. a
    /// signature being made), so that only the `PUT` of [`Registry::finish_upload`] is left for later:
    /// one `POST` now (`202` + `Location`); none on a registry known to take one-request uploads (the
    /// whole upload is then the one `POST` of [`Registry::push_blob`], later).
    pub(crate) async fn open_upload(&self, image: &ImageRef) -> Result<Upload, OciError> {
        if lock(&self.shared.monolithic).get(image.registry()) == Some(&true) {
            return Ok(Upload { url: None });
        }
        let what = format!("{}/{} (a new upload)", image.registry(), image.repository());
        let resp = self.post_upload(image, "", None, None).await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.error(image, &what, "push", resp).await);
        }
        Ok(Upload {
            url: Some(self.session_url(image, &resp, &what)?),
        })
    }

    /// Uploads `data` through `upload` (from [`Registry::open_upload`] for the same `image`); returns
    /// its digest. One request (the `PUT`, or the one-request `POST`).
    pub(crate) async fn finish_upload(
        &self,
        image: &ImageRef,
        upload: Upload,
        data: &[u8],
    ) -> Result<String, OciError> {
        match upload.url {
            Some(url) => {
                self.put_session(image, url, &sha256_digest(data), data)
                    .await
            }
            None => self.push_blob(image, data).await,
        }
    }

    /// Downloads the blob `digest` of `size` bytes (its descriptor's), streamed: never more than `size`
    /// bytes are read, and the sha256 is checked as they arrive. `max` bounds `size` itself (the
    /// caller's limit for this kind of blob, named `limit_name` in the error).
    pub(crate) async fn get_blob(
        &self,
        image: &ImageRef,
        digest: &str,
        size: u64,
        max: u64,
        limit_name: &'static str,
    ) -> Result<Vec<u8>, OciError> {
        let what = format!("{}/{}@{digest}", image.registry(), image.repository());
        if !valid_digest(digest) {
            return Err(OciError::Malformed {
                what: "a blob descriptor",
                reference: image.to_string(),
                reason: format!("`{digest}` is not a sha256 digest"),
            });
        }
        if size > max {
            return Err(OciError::TooLarge {
                what: "a blob's descriptor",
                reference: what,
                limit: max,
                limit_name,
            });
        }
        let req = Req::new(
            Method::GET,
            image.repository(),
            format!("/v2/{}/blobs/{digest}", image.repository()),
            what.clone(),
        );
        let resp = self.send(image, &req).await?;
        if !resp.status().is_success() {
            return Err(self.error(image, &what, "pull", resp).await);
        }
        let mut hasher = sha2::Sha256::new();
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
        // The limit is the descriptor's size (itself within `max`, checked above).
        let limit = crate::net::AnswerLimit {
            what: "blobs",
            name: limit_name,
            max: size,
        };
        let url = resp.url().to_string();
        let read = crate::net::read_chunks(resp, &url, limit, self.shared.deadline(), |chunk| {
            hasher.update(chunk);
            out.extend_from_slice(chunk);
        })
        .await;
        match read {
            Ok(n) if n == size => {}
            Ok(n) => {
                return Err(OciError::Malformed {
                    what: "a blob",
                    reference: what,
                    reason: format!("{n} bytes served where its descriptor says {size}"),
                })
            }
            Err(crate::net::HttpError::TooLarge { .. }) => {
                return Err(OciError::Malformed {
                    what: "a blob",
                    reference: what,
                    reason: format!("the registry served more than the {size} bytes its descriptor says; stopped there"),
                })
            }
            Err(e) => {
                return Err(client::body_error(
                    image.registry(),
                    &image.to_string(),
                    "a blob",
                    e,
                ))
            }
        }
        let got = format!("sha256:{}", hex::encode(hasher.finalize()));
        if got != digest {
            return Err(OciError::Malformed {
                what: "a blob",
                reference: what,
                reason: format!("its bytes hash to {got}"),
            });
        }
        Ok(out)
    }
}

/// The data behind a mutex, even when a panicking holder poisoned it (the maps it guards stay
/// consistent: every update is one insert or remove).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A `Content-Type` value without its parameters (`application/json; charset=utf-8` → `application/json`).
pub(crate) fn bare_media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// A manifest's media type: the body's `mediaType`, else the `Content-Type`, else what its fields say.
fn manifest_media_type(bytes: &[u8], content_type: Option<&str>) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if let Some(m) = value.get("mediaType").and_then(|m| m.as_str()) {
        return Ok(m.to_string());
    }
    let ct = content_type
        .map(|c| bare_media_type(c).to_string())
        .filter(|c| MANIFEST_TYPES.contains(&c.as_str()));
    Ok(match ct {
        Some(c) => c,
        None if value.get("manifests").is_some() => super::OCI_INDEX.to_string(),
        None => super::OCI_MANIFEST.to_string(),
    })
}
