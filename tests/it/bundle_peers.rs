//! The peers that the Sigstore-bundle image layout (issue 10) is tested against, checked with the real
//! clients before ferrosign speaks that layout:
//! - the OCI 1.1 referrers-API registry (tests/peers/referrers-registry, go-containerregistry's
//!   registry with referrers on): what it serves, and the spec points where it differs;
//! - the test Sigstore instance's Rekor `dsse` 0.0.1 entries: cosign v3 signs images in its default
//!   format (a DSSE bundle attached as a referrer) on it, key and keyless, on both registries; cosign v3
//!   verifies them; the log entry body is the one Rekor computes; sigstore-python verifies the keyless
//!   bundle pulled from the registry; a bad or repeated entry is refused like Rekor refuses it.
//!
//! docs/cosign-bundle-layout.md has the facts these tests pin and where each comes from.

use crate::sigstore_fake::FakeSigstore;
use crate::support::registry::{sha256, TestRegistry, OCI_INDEX, OCI_MANIFEST};
use crate::support::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PW: &str = "bundle-peers-pw";
const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

// ------------------------------------------------------------------ the referrers-API registry peer

/// The referrers-API registry binary: `FERROSIGN_REFERRERS_REGISTRY`, else where scripts/peers.sh builds
/// it (a directory keyed by the first 16 hex of the SHA-256 of go.mod, go.sum and main.go).
pub fn referrers_registry_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FERROSIGN_REFERRERS_REGISTRY") {
        return PathBuf::from(p);
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/referrers-registry");
    let mut all = Vec::new();
    for f in ["go.mod", "go.sum", "main.go"] {
        all.extend(std::fs::read(src.join(f)).expect("referrers-registry source"));
    }
    let hash = &sha256(&all)["sha256:".len()..][..16];
    let home = std::env::var("HOME").unwrap_or_default();
    PathBuf::from(format!(
        "{home}/.cache/ferrosign/referrers-registry-{hash}/referrers-registry"
    ))
}

/// A running referrers-API registry (in memory, on 127.0.0.1); stopped on drop.
pub struct ReferrersRegistry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
}

impl ReferrersRegistry {
    pub fn start() -> Self {
        let bin = referrers_registry_bin();
        assert!(
            bin.is_file(),
            "referrers registry not built at {}: run `bash scripts/test.sh` (scripts/peers.sh builds it)",
            bin.display()
        );
        // It exits when its stdin closes, so a test that dies takes it along.
        let mut child = Command::new(&bin)
            .args(["-port", "0", "-watch-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the referrers registry");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("no READY line from the referrers registry");
        let addr = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        ReferrersRegistry { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Uploads a blob (POST, then PUT with the digest); returns its digest.
    pub fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let (status, headers, _) = http(
            "POST",
            &self.url(&format!("/v2/{repo}/blobs/uploads/")),
            None,
            &[],
        );
        assert_eq!(status, 202, "upload start");
        let loc = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location")
            .to_string();
        let url = if loc.starts_with('/') {
            self.url(&loc)
        } else {
            loc
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let (status, _, body) = http(
            "PUT",
            &format!("{url}{sep}digest={digest}"),
            Some(data.to_vec()),
            &[("content-type", "application/octet-stream")],
        );
        assert_eq!(
            status,
            201,
            "blob upload: {}",
            String::from_utf8_lossy(&body)
        );
        digest
    }

    /// Stores a manifest under a tag or digest; returns (digest, response headers).
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> (String, reqwest::header::HeaderMap) {
        let (status, headers, body) = http(
            "PUT",
            &self.url(&format!("/v2/{repo}/manifests/{reference}")),
            Some(bytes.to_vec()),
            &[("content-type", media_type)],
        );
        assert_eq!(
            status,
            201,
            "manifest upload: {}",
            String::from_utf8_lossy(&body)
        );
        (sha256(bytes), headers)
    }

    /// Pushes a small image built from `seed`; returns its manifest digest.
    pub fn push_image(&self, repo: &str, tag: &str, seed: &str) -> String {
        let layer = format!("layer for {seed}\n").into_bytes();
        let layer_digest = self.put_blob(repo, &layer);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"config":{{}}}}"#
        )
        .into_bytes();
        let config_digest = self.put_blob(repo, &config);
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
        });
        self.put_manifest(repo, tag, manifest.to_string().as_bytes(), OCI_MANIFEST)
            .0
    }

    /// A manifest's bytes, or `None` on 404.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        let accept = format!("{OCI_MANIFEST}, {OCI_INDEX}");
        let (status, _, body) = http(
            "GET",
            &self.url(&format!("/v2/{repo}/manifests/{reference}")),
            None,
            &[("accept", &accept)],
        );
        match status {
            200 => Some(body),
            404 => None,
            s => panic!("GET manifest {repo}:{reference}: {s}"),
        }
    }

    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let (status, _, body) = http(
            "GET",
            &self.url(&format!("/v2/{repo}/blobs/{digest}")),
            None,
            &[],
        );
        assert_eq!(status, 200, "GET blob {digest}");
        body
    }

    /// `GET /v2/<repo>/referrers/<digest><query>`: (status, headers, body).
    pub fn referrers(
        &self,
        repo: &str,
        digest: &str,
        query: &str,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        http(
            "GET",
            &self.url(&format!("/v2/{repo}/referrers/{digest}{query}")),
            None,
            &[("accept", OCI_INDEX)],
        )
    }
}

impl Drop for ReferrersRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP exchange on loopback: (status, headers, body).
fn http(
    method: &str,
    url: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let mut req = client.request(method.parse().expect("method"), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.expect("body").to_vec())
    })
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The referrers API as this peer serves it: every manifest whose `subject` is the digest, as an OCI
/// index with the manifests' annotations — and, unlike the spec, `artifactType` from the config media
/// type, no `artifactType` filtering, no pagination, no `OCI-Subject` header. Tests of ferrosign's
/// reader rely on exactly this, so a change of the peer shows here first.
#[test]
fn referrers_registry_serves_the_referrers_api() {
    let reg = ReferrersRegistry::start();
    let img = reg.push_image("acme/app", "v1", "referrers");
    let img_size = reg.manifest("acme/app", &img).expect("image").len();
    let config = reg.put_blob("acme/app", b"{}");
    let layer = reg.put_blob("acme/app", b"payload");
    let mut referrers = Vec::new();
    for kind in ["a", "b"] {
        let m = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": format!("application/x.test.{kind}"),
            "config": {"mediaType": EMPTY_CONFIG, "digest": config, "size": 2},
            "layers": [{"mediaType": "application/x.test.layer", "digest": layer, "size": 7}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": img, "size": img_size},
            "annotations": {"kind": kind},
        });
        let bytes = m.to_string().into_bytes();
        let (digest, headers) = reg.put_manifest("acme/app", &sha256(&bytes), &bytes, OCI_MANIFEST);
        assert!(
            headers.get("oci-subject").is_none(),
            "the peer now sends OCI-Subject: update docs/cosign-bundle-layout.md"
        );
        referrers.push((digest, bytes.len(), kind));
    }
    // an unrelated manifest without subject is not listed
    reg.push_image("acme/app", "v2", "other");

    let (status, headers, body) = reg.referrers("acme/app", &img, "");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], OCI_INDEX);
    let index = json_of(&body);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let listed = index["manifests"].as_array().expect("manifests");
    assert_eq!(listed.len(), 2, "{index}");
    for (digest, size, kind) in &referrers {
        let d = listed
            .iter()
            .find(|d| d["digest"] == *digest)
            .unwrap_or_else(|| panic!("{digest} not listed: {index}"));
        assert_eq!(d["mediaType"], OCI_MANIFEST);
        assert_eq!(d["size"], *size);
        assert_eq!(d["annotations"]["kind"], *kind);
        // spec: the manifest's artifactType; this peer: the config media type
        assert_eq!(d["artifactType"], EMPTY_CONFIG, "{d}");
    }

    // the artifactType filter is ignored and not reported as applied; no Link header, whatever `n` says
    let (status, headers, body) =
        reg.referrers("acme/app", &img, "?artifactType=application/x.test.a&n=1");
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&body)["manifests"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(headers.get("oci-filters-applied").is_none());
    assert!(headers.get("link").is_none());

    // a digest nothing refers to: an empty index; an unknown repository: 404; not a digest: 400
    let other = format!("sha256:{}", "0".repeat(64));
    let (status, _, body) = reg.referrers("acme/app", &other, "");
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["manifests"], json!([]));
    assert_eq!(reg.referrers("acme/none", &img, "").0, 404);
    assert_eq!(reg.referrers("acme/app", "latest", "").0, 400);
}

// ------------------------------------------------------------------ cosign v3 bundles and dsse entries

/// A directory with a cosign key pair and the instance's signing config (cosign v3 `--signing-config`).
fn workdir(fake: &FakeSigstore) -> tempfile::TempDir {
    let dir = tempdir();
    run(cosign(3, dir.path())
        .arg("generate-key-pair")
        .env("COSIGN_PASSWORD", PW))
    .ok();
    let tc = json_of(&std::fs::read(fake.trust_config()).expect("trust config"));
    std::fs::write(
        dir.path().join("signing_config.json"),
        tc["signingConfig"].to_string(),
    )
    .expect("signing config");
    dir
}

/// `cosign sign` v3 with its defaults (bundle format, signing config): with cosign.key or keyless.
fn cosign3_sign(fake: &FakeSigstore, dir: &Path, image: &str, key: bool) {
    let mut c = cosign(3, dir);
    c.args([
        "sign",
        "--yes",
        "--signing-config",
        "signing_config.json",
        "-a",
        "team=platform",
    ])
    .arg("--trusted-root")
    .arg(fake.trusted_root());
    if key {
        c.args(["--key", "cosign.key"]).env("COSIGN_PASSWORD", PW);
    } else {
        c.args(["--identity-token", &fake.get("token")]);
    }
    c.arg(image);
    let r = run(&mut c);
    assert_eq!(r.code, 0, "cosign v3 sign {image}: {}", r.all());
}

/// `cosign verify` v3 with the key or the instance's identity (and `-a team=...`).
fn cosign3_verify(fake: &FakeSigstore, dir: &Path, image: &str, key: bool, team: &str) -> Run {
    let mut c = cosign(3, dir);
    c.arg("verify")
        .arg("--trusted-root")
        .arg(fake.trusted_root());
    if key {
        c.args(["--key", "cosign.pub"]);
    } else {
        c.args([
            "--certificate-identity",
            &fake.identity(),
            "--certificate-oidc-issuer",
            &fake.issuer(),
        ]);
    }
    c.args(["-a", &format!("team={team}")]).arg(image);
    run(&mut c)
}

/// What cosign v3 wrote for one signature: the referrer manifest and its bundle.
struct Referrer {
    manifest: Value,
    bundle: Value,
    bundle_bytes: Vec<u8>,
}

fn read_referrer(manifest: &[u8], blob: impl Fn(&str) -> Vec<u8>) -> Referrer {
    let manifest = json_of(manifest);
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .to_string();
    let bundle_bytes = blob(&layer);
    Referrer {
        bundle: json_of(&bundle_bytes),
        manifest,
        bundle_bytes,
    }
}

/// The layout cosign v3 writes, pinned: OCI manifest with artifactType = the bundle media type, the empty
/// config, one bundle layer, subject = the image, the three annotations; a DSSE in-toto statement naming
/// the image digest with the `-a` annotations on its subject.
fn check_layout(r: &Referrer, image_digest: &str, image_size: usize) {
    let m = &r.manifest;
    assert_eq!(m["mediaType"], OCI_MANIFEST, "{m}");
    assert_eq!(m["artifactType"], BUNDLE_V03, "{m}");
    assert_eq!(m["config"]["mediaType"], EMPTY_CONFIG, "{m}");
    assert_eq!(m["config"]["digest"], sha256(b"{}"));
    assert_eq!(m["config"]["size"], 2);
    assert_eq!(m["layers"].as_array().map(Vec::len), Some(1));
    assert_eq!(m["layers"][0]["mediaType"], BUNDLE_V03);
    assert_eq!(m["layers"][0]["digest"], sha256(&r.bundle_bytes));
    assert_eq!(m["subject"]["digest"], image_digest);
    assert_eq!(m["subject"]["size"], image_size);
    assert_eq!(m["subject"]["mediaType"], OCI_MANIFEST);
    let a = &m["annotations"];
    assert_eq!(a["dev.sigstore.bundle.content"], "dsse-envelope");
    assert_eq!(a["dev.sigstore.bundle.predicateType"], SIGN_PREDICATE);
    assert!(
        a["org.opencontainers.image.created"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{a}"
    );

    let b = &r.bundle;
    assert_eq!(b["mediaType"], BUNDLE_V03);
    let env = &b["dsseEnvelope"];
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let statement = json_of(
        &B64.decode(env["payload"].as_str().expect("payload"))
            .expect("b64"),
    );
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], SIGN_PREDICATE);
    assert_eq!(statement["predicate"], json!({}));
    let subject = &statement["subject"][0];
    assert_eq!(subject["digest"]["sha256"], image_digest["sha256:".len()..]);
    assert!(
        subject.get("name").is_none(),
        "cosign v3 now names the subject: {statement}"
    );
    assert_eq!(subject["annotations"], json!({"team": "platform"}));
}

/// The log entry in the bundle is a `dsse` 0.0.1 entry whose canonicalized body is what Rekor stores for
/// this envelope: the payload's hash, the envelope's signature and the verifier (the signing key's or the
/// leaf certificate's PEM), keys sorted, no spaces. Returns the verifier PEM.
fn check_dsse_entry(bundle: &Value) -> String {
    let entries = bundle["verificationMaterial"]["tlogEntries"]
        .as_array()
        .expect("tlog entries");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        e["kindVersion"],
        json!({"kind": "dsse", "version": "0.0.1"})
    );
    assert!(e["inclusionPromise"]["signedEntryTimestamp"].is_string());
    assert!(e["inclusionProof"]["checkpoint"]["envelope"].is_string());
    let raw = B64
        .decode(e["canonicalizedBody"].as_str().expect("body"))
        .expect("b64");
    let body = json_of(&raw);
    let env = &bundle["dsseEnvelope"];
    let payload = B64
        .decode(env["payload"].as_str().expect("payload"))
        .expect("b64");
    assert_eq!(body["apiVersion"], "0.0.1");
    assert_eq!(body["kind"], "dsse");
    assert_eq!(
        body["spec"]["payloadHash"],
        json!({"algorithm": "sha256", "value": &sha256(&payload)[7..]})
    );
    assert_eq!(body["spec"]["envelopeHash"]["algorithm"], "sha256");
    assert_eq!(
        body["spec"]["envelopeHash"]["value"].as_str().map(str::len),
        Some(64)
    );
    let sigs = body["spec"]["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0]["signature"], env["signatures"][0]["sig"]);
    assert!(
        body["spec"].get("proposedContent").is_none(),
        "the envelope itself is not stored"
    );
    // canonical JSON: what serde_json writes for the same value (keys sorted, no spaces)
    assert_eq!(String::from_utf8(raw).expect("utf-8"), body.to_string());
    let verifier = B64
        .decode(sigs[0]["verifier"].as_str().expect("verifier"))
        .expect("b64");
    String::from_utf8(verifier).expect("PEM")
}

/// The PEM of a DER certificate, as Go's pem.EncodeToMemory writes it (64 columns, final newline).
fn cert_pem(der: &[u8]) -> String {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).expect("pem")
}

/// cosign v3 signs images in its default format on the referrers-API registry, with its key and keylessly,
/// against the test instance: the referrers are listed by the API (no fallback tag), the layout is
/// cosign's, the log entries are `dsse` bodies as Rekor computes them, cosign v3 verifies each (and
/// refuses the wrong annotation), and sigstore-python verifies the keyless bundle pulled from the registry
/// (and refuses another identity or another digest).
#[test]
fn cosign_v3_bundles_on_the_referrers_api_with_dsse_log_entries() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = ReferrersRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "cosign-v3");
    let size = reg.manifest("acme/app", &digest).expect("image").len();
    let image = format!("{}/acme/app@{digest}", reg.addr);

    cosign3_sign(&fake, p, &image, true);
    cosign3_sign(&fake, p, &image, false);

    let (status, _, body) = reg.referrers("acme/app", &digest, "");
    assert_eq!(status, 200);
    let listed = json_of(&body)["manifests"]
        .as_array()
        .cloned()
        .expect("manifests");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let fallback_tag = digest.replacen(':', "-", 1);
    assert!(
        reg.manifest("acme/app", &fallback_tag).is_none(),
        "cosign wrote a fallback tag beside the referrers API"
    );

    let pubkey_der = {
        let pem = std::fs::read_to_string(p.join("cosign.pub")).expect("cosign.pub");
        let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).expect("pem");
        der
    };
    let (mut keyed, mut keyless) = (0, 0);
    for d in &listed {
        let m = reg
            .manifest("acme/app", d["digest"].as_str().expect("digest"))
            .expect("referrer");
        let r = read_referrer(&m, |l| reg.blob("acme/app", l));
        check_layout(&r, &digest, size);
        let verifier = check_dsse_entry(&r.bundle);
        let vm = &r.bundle["verificationMaterial"];
        if let Some(hint) = vm["publicKey"]["hint"].as_str() {
            // key mode: hint = base64(SHA-256(SPKI DER)); Rekor stores the key's PEM
            keyed += 1;
            assert_eq!(
                hint,
                B64.encode(hex::decode(&sha256(&pubkey_der)[7..]).expect("hex"))
            );
            let (label, der) = pem_rfc7468::decode_vec(verifier.as_bytes()).expect("verifier pem");
            assert_eq!((label, der), ("PUBLIC KEY", pubkey_der.clone()));
        } else {
            // keyless: the leaf certificate in the bundle; Rekor stores its PEM
            keyless += 1;
            let der = B64
                .decode(vm["certificate"]["rawBytes"].as_str().expect("certificate"))
                .expect("b64");
            assert_eq!(verifier, cert_pem(&der));
            let bundle = p.join("keyless.sigstore.json");
            std::fs::write(&bundle, &r.bundle_bytes).expect("write bundle");
            let py = |identity: &str, want: &str| fake.py_verify_dsse(&bundle, identity, want);
            let ok = py(&fake.identity(), &digest);
            assert_eq!(ok.code, 0, "sigstore-python: {}", ok.all());
            assert!(ok.stdout.contains(SIGN_PREDICATE), "{}", ok.stdout);
            let other_id = py(
                "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
                &digest,
            );
            assert_eq!(
                other_id.code,
                1,
                "sigstore-python accepted another identity: {}",
                other_id.all()
            );
            let other_digest = py(&fake.identity(), &format!("sha256:{}", "1".repeat(64)));
            assert_eq!(
                other_digest.code,
                1,
                "sigstore-python accepted another digest: {}",
                other_digest.all()
            );
        }
    }
    assert_eq!((keyed, keyless), (1, 1));

    for key in [true, false] {
        let ok = cosign3_verify(&fake, p, &image, key, "platform").ok();
        assert!(ok.stdout.contains(SIGN_PREDICATE), "{}", ok.stdout);
        let bad = cosign3_verify(&fake, p, &image, key, "other");
        assert_ne!(
            bad.code,
            0,
            "cosign v3 accepted a wrong annotation:\n{}",
            bad.all()
        );
    }
}

/// On Debian's docker-registry (no referrers API) cosign v3 keeps its referrers in the tag-schema index
/// `sha256-<hex>`: one entry per signature, artifactType = the bundle type (v3.1.3 writes the right one),
/// no annotations (go-containerregistry v0.21.7 leaves them out); the log entry is `dsse` and cosign v3
/// verifies it.
#[test]
fn cosign_v3_bundle_on_the_tag_schema_fallback() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "fallback");
    let size = reg.manifest("acme/app", &digest).expect("image").len();
    let image = format!("{}/acme/app@{digest}", reg.addr);
    cosign3_sign(&fake, p, &image, true);

    let tag = digest.replacen(':', "-", 1);
    let index = json_of(&reg.manifest("acme/app", &tag).expect("fallback index"));
    assert_eq!(index["mediaType"], OCI_INDEX);
    let entries = index["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["artifactType"], BUNDLE_V03, "{index}");
    assert!(
        entries[0].get("annotations").is_none(),
        "cosign now copies annotations: {index}"
    );
    assert!(reg.manifest("acme/app", &format!("{tag}.sig")).is_none());
    let m = reg
        .manifest("acme/app", entries[0]["digest"].as_str().expect("digest"))
        .expect("referrer");
    let r = read_referrer(&m, |l| reg.blob("acme/app", l));
    check_layout(&r, &digest, size);
    check_dsse_entry(&r.bundle);
    cosign3_verify(&fake, p, &image, true, "platform").ok();
}

/// The test log refuses what Rekor refuses for `dsse` 0.0.1 (a signature no verifier verifies, a missing
/// envelope, server-side fields sent by the client) and answers 409 with the entry's location for the
/// same envelope twice; what it stores verifies with the given key.
#[test]
fn test_rekor_checks_dsse_entries_like_rekor() {
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{DerSignature, SigningKey};
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let fake = FakeSigstore::start(&[]);
    let url = format!("{}/api/v1/log/entries", fake.url());
    let key = SigningKey::random(&mut rand_core::OsRng);
    let other = SigningKey::random(&mut rand_core::OsRng);
    let pem = |k: &SigningKey| {
        k.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem")
    };
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}],"predicateType":"x","predicate":{}}"#;
    let ptype = "application/vnd.in-toto+json";
    let pae = [
        format!("DSSEv1 {} {ptype} {} ", ptype.len(), payload.len()).as_bytes(),
        payload,
    ]
    .concat();
    let sig: DerSignature = key.sign(&pae);
    let envelope = json!({"payload": B64.encode(payload), "payloadType": ptype,
                          "signatures": [{"sig": B64.encode(sig.as_bytes())}]})
    .to_string();
    let entry = |envelope: &str, verifiers: Vec<String>| {
        json!({"apiVersion": "0.0.1", "kind": "dsse",
               "spec": {"proposedContent": {"envelope": envelope, "verifiers": verifiers}}})
        .to_string()
        .into_bytes()
    };
    let post = |body: Vec<u8>| {
        http(
            "POST",
            &url,
            Some(body),
            &[("content-type", "application/json")],
        )
    };

    let (status, _, body) = post(entry(&envelope, vec![B64.encode(pem(&other))]));
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("could not verify envelope"));
    let (status, _, _) = post(entry(&envelope, vec![]));
    assert_eq!(status, 400);
    let (status, _, _) = post(entry("", vec![B64.encode(pem(&key))]));
    assert_eq!(status, 400);
    let mut with_server_fields = json_of(&entry(&envelope, vec![B64.encode(pem(&key))]));
    with_server_fields["spec"]["payloadHash"] = json!({"algorithm": "sha256", "value": "00"});
    assert_eq!(post(with_server_fields.to_string().into_bytes()).0, 400);

    let (status, headers, body) = post(entry(&envelope, vec![B64.encode(pem(&key))]));
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let created = json_of(&body);
    let (uuid, e) = created
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("entry");
    assert_eq!(
        headers["location"].to_str().ok(),
        Some(format!("/api/v1/log/entries/{uuid}").as_str())
    );
    let stored = json_of(&B64.decode(e["body"].as_str().expect("body")).expect("b64"));
    assert_eq!(
        stored,
        json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": &sha256(envelope.as_bytes())[7..]},
            "payloadHash": {"algorithm": "sha256", "value": &sha256(payload)[7..]},
            "signatures": [{"signature": B64.encode(sig.as_bytes()), "verifier": B64.encode(pem(&key))}]}})
    );
    let (status, headers, _) = post(entry(&envelope, vec![B64.encode(pem(&key))]));
    assert_eq!(status, 409);
    assert_eq!(
        headers["location"].to_str().ok(),
        Some(format!("/api/v1/log/entries/{uuid}").as_str())
    );
}
