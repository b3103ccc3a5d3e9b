//! The registry peers themselves, and one example per peer of driving ferrosign and cosign through it:
//! the fault-injecting proxy (support/proxy.rs), the registry behind Bearer token auth, and the registry
//! over TLS with a test CA (support/registry_auth.rs). The faults' own behaviour is checked here with
//! plain HTTP so that the tests of issues 10, 12, 13, 15 and 16 can rely on them.

use crate::support::proxy::{Fault, FaultProxy, On, SIG_MANIFEST_PATH};
use crate::support::registry::{sha256, TestRegistry, DOCKER_MANIFEST, OCI_MANIFEST};
use crate::support::{cosign, ferrosign, run, tempdir, Run};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PW: &str = "test-password";
const USER: &str = "octocat";
const SECRET: &str = "registry-s3cret";

fn fs(dir: &Path) -> Command {
    let mut c = ferrosign(dir);
    c.env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    c
}

fn cs(major: u32, dir: &Path) -> Command {
    let mut c = cosign(major, dir);
    c.env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    c
}

fn keypair(dir: &Path) {
    run(fs(dir).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn sig_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// cosign (v2 or v3) verifying `image` with `k.pub`, no log; `extra` adds flags and environment.
fn cosign_verify(major: u32, dir: &Path, image: &str, cmd: impl FnOnce(&mut Command)) -> Run {
    let mut c = cs(major, dir);
    c.args(["verify", "--key", "k.pub", "--insecure-ignore-tlog"]);
    cmd(&mut c);
    run(c.arg(image))
}

// ---- the fault proxy ----

#[test]
fn ferrosign_and_cosign_work_through_the_proxy_which_counts_requests() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "a");
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::latency(Duration::from_millis(20))]);
    keypair(d);
    let image = format!("{}/acme/app@{digest}", proxy.addr);
    // the `.sig` layout only: cosign v3 reads the `.sig` only while no bundle is attached
    run(fs(d).args([
        "sign",
        "--key",
        "k.key",
        "--tlog-upload=false",
        "--allow-insecure-registry",
        "--signature-format",
        "legacy",
        &image,
    ]))
    .ok();
    assert_eq!(
        proxy.count("PUT", SIG_MANIFEST_PATH),
        1,
        "{:#?}",
        proxy.requests()
    );
    assert!(proxy.count("GET", SIG_MANIFEST_PATH) >= 1);
    assert_eq!(proxy.count_status(500), 0);
    // Every request of the run went through the proxy: the registry saw no other client.
    let through_proxy = proxy.requests().len();
    assert!(through_proxy >= 5, "{through_proxy}");
    proxy.reset_counts();
    cosign_verify(3, d, &image, |c| {
        c.arg("--allow-http-registry");
    })
    .ok();
    assert!(proxy.count("GET", SIG_MANIFEST_PATH) >= 1);
    assert_eq!(reg.sig_layers("acme/app", &digest).len(), 1);
}

#[test]
fn proxy_serves_a_blob_far_beyond_its_descriptor_without_storing_it() {
    let reg = TestRegistry::start();
    let blob = reg.put_blob("acme/big", b"small");
    let sized = FaultProxy::start(
        &reg.addr,
        vec![Fault::HugeBlob {
            on: On::blob(&blob),
            len: Some(3 << 20),
        }],
    );
    let endless = FaultProxy::start(
        &reg.addr,
        vec![Fault::HugeBlob {
            on: On::blob(&blob),
            len: None,
        }],
    );
    rt().block_on(async {
        let url = format!("http://{}/v2/acme/big/blobs/{blob}", sized.addr);
        let resp = http().get(&url).send().await.expect("GET");
        assert_eq!(resp.content_length(), Some(3 << 20));
        assert_eq!(resp.bytes().await.expect("body").len(), 3 << 20);
        // Endless: no length; the client stops reading after 16 MiB and hangs up.
        let url = format!("http://{}/v2/acme/big/blobs/{blob}", endless.addr);
        let mut resp = http().get(&url).send().await.expect("GET");
        assert_eq!(resp.content_length(), None);
        let mut got = 0usize;
        while got < 16 << 20 {
            got += resp.chunk().await.expect("chunk").expect("more").len();
        }
    });
    // Other blobs pass untouched.
    let other = reg.put_blob("acme/big", b"other");
    let body = rt().block_on(async {
        let url = format!("http://{}/v2/acme/big/blobs/{other}", sized.addr);
        http()
            .get(&url)
            .send()
            .await
            .expect("GET")
            .bytes()
            .await
            .expect("body")
    });
    assert_eq!(&body[..], b"other");
}

#[test]
fn proxy_repeats_a_signature_layer_and_rewrites_the_digest() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/rep", "v1", "r");
    keypair(d);
    let direct = format!("{}/acme/rep@{digest}", reg.addr);
    run(fs(d).args([
        "sign",
        "--key",
        "k.key",
        "--tlog-upload=false",
        "--allow-insecure-registry",
        &direct,
    ]))
    .ok();
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::RepeatLayer {
            on: On::sig_manifest("*"),
            times: 20_000,
        }],
    );
    let (head_digest, head_len, body, body_digest) = rt().block_on(async {
        let url = format!(
            "http://{}/v2/acme/rep/manifests/{}",
            proxy.addr,
            sig_tag(&digest)
        );
        let head = http()
            .head(&url)
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .expect("HEAD");
        let get = http()
            .get(&url)
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .expect("GET");
        let h =
            |r: &reqwest::Response, k: &str| r.headers()[k].to_str().expect("header").to_string();
        let body_digest = h(&get, "docker-content-digest");
        (
            h(&head, "docker-content-digest"),
            h(&head, "content-length"),
            get.bytes().await.expect("body"),
            body_digest,
        )
    });
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let layers = v["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 20_000);
    assert!(layers.iter().all(|l| l == &layers[0]));
    assert_eq!(body_digest, sha256(&body));
    assert_eq!(head_digest, body_digest);
    assert_eq!(head_len, body.len().to_string());
    // The registry itself still holds one layer.
    assert_eq!(reg.sig_layers("acme/rep", &digest).len(), 1);
}

#[test]
fn proxy_rate_limits_with_retry_after_then_lets_through() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/rl", "v1", "l");
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::too_many(On::req("GET", "/manifests/"), 1, 1)],
    );
    let url = format!("http://{}/v2/acme/rl/manifests/{digest}", proxy.addr);
    let get = || {
        rt().block_on(async {
            let r = http()
                .get(&url)
                .header("accept", OCI_MANIFEST)
                .send()
                .await
                .expect("GET");
            let after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().expect("ascii").to_string());
            (r.status().as_u16(), after)
        })
    };
    assert_eq!(get(), (429, Some("1".into())));
    // Coming back at once is too early: still limited.
    assert_eq!(get(), (429, Some("1".into())));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(), (200, None));
    assert_eq!(proxy.count_status(429), 2);
}

#[test]
fn proxy_loses_an_existing_manifest_exactly_once() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/gone", "v1", "g");
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::Vanish {
            on: On::req("GET", "/manifests/"),
            times: 1,
        }],
    );
    let status = |reference: &str| {
        let url = format!("http://{}/v2/acme/gone/manifests/{reference}", proxy.addr);
        rt().block_on(async {
            http()
                .get(&url)
                .header("accept", OCI_MANIFEST)
                .send()
                .await
                .expect("GET")
                .status()
                .as_u16()
        })
    };
    // A missing manifest does not use up the fault: only one that exists vanishes.
    assert_eq!(status("nope"), 404);
    assert_eq!(status(&digest), 404);
    assert_eq!(status(&digest), 200);
    assert_eq!(status(&digest), 200);
}

#[test]
fn proxy_drips_answers_one_byte_at_a_time() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/drip", "v1", "d");
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::Drip {
            on: On::req("GET", "/manifests/"),
            every: Duration::from_millis(2),
        }],
    );
    let url = format!("http://{}/v2/acme/drip/manifests/{digest}", proxy.addr);
    let started = std::time::Instant::now();
    let (chunks, body) = rt().block_on(async {
        let mut r = http()
            .get(&url)
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .expect("GET");
        let mut chunks = Vec::new();
        while let Some(c) = r.chunk().await.expect("chunk") {
            chunks.push(c);
        }
        (
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            chunks.concat(),
        )
    });
    // Each byte waits its turn (a lower bound, whatever the load); the reader sees many small chunks.
    assert!(started.elapsed() >= Duration::from_millis(2) * body.len() as u32);
    assert!(chunks.len() > 10, "{chunks:?}");
    assert_eq!(sha256(&body), digest);
}

#[test]
fn proxy_holds_a_write_until_the_others_have_landed() {
    let reg = TestRegistry::start();
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::Hold {
            on: On::manifest_put(),
            times: 1,
            until_others: 2,
            max: Duration::from_secs(30),
        }],
    );
    let config = reg.put_blob("acme/hold", b"{}");
    let manifest = |n: u32| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[],"annotations":{{"n":"{n}"}}}}"#
        )
    };
    let put = |n: u32| {
        let url = format!("http://{}/v2/acme/hold/manifests/t", proxy.addr);
        let body = manifest(n);
        std::thread::spawn(move || {
            rt().block_on(async {
                http()
                    .put(&url)
                    .header("content-type", OCI_MANIFEST)
                    .body(body)
                    .send()
                    .await
                    .expect("PUT")
                    .status()
                    .as_u16()
            })
        })
    };
    let first = put(1);
    std::thread::sleep(Duration::from_millis(300));
    let others = [put(2), put(3)];
    for t in others {
        assert_eq!(t.join().expect("thread"), 201);
    }
    assert_eq!(first.join().expect("thread"), 201);
    // The held write landed last: it is what the tag holds now.
    let now = reg.manifest("acme/hold", "t").expect("manifest");
    assert_eq!(now, manifest(1).into_bytes());
}

#[test]
fn proxy_refuses_manifests_with_subject_or_oci_media_types() {
    let reg = TestRegistry::start();
    let config = reg.put_blob("acme/strict", b"{}");
    let image = reg.push_image("acme/strict", "v1", "s");
    let no_subject = FaultProxy::start(&reg.addr, vec![Fault::RefuseSubject]);
    let docker_only = FaultProxy::start(&reg.addr, vec![Fault::DockerMediaTypesOnly]);
    let put = |addr: &str, tag: &str, media_type: &str, config_type: &str, subject: bool| {
        let subject = if subject {
            format!(r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{image}","size":1}}"#)
        } else {
            String::new()
        };
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"{config_type}","digest":"{config}","size":2}},"layers":[]{subject}}}"#
        );
        let url = format!("http://{addr}/v2/acme/strict/manifests/{tag}");
        rt().block_on(async {
            let r = http()
                .put(&url)
                .header("content-type", media_type)
                .body(body)
                .send()
                .await
                .expect("PUT");
            (r.status().as_u16(), r.text().await.expect("text"))
        })
    };
    let oci_config = "application/vnd.oci.image.config.v1+json";
    let docker_config = "application/vnd.docker.container.image.v1+json";
    let (status, text) = put(&no_subject.addr, "a", OCI_MANIFEST, oci_config, true);
    assert_eq!(status, 400);
    assert!(text.contains("MANIFEST_INVALID"), "{text}");
    assert_eq!(
        put(&no_subject.addr, "b", OCI_MANIFEST, oci_config, false).0,
        201
    );
    let (status, text) = put(&docker_only.addr, "c", OCI_MANIFEST, oci_config, false);
    assert_eq!(status, 400);
    assert!(text.contains("MANIFEST_INVALID"), "{text}");
    assert_eq!(
        put(&docker_only.addr, "d", DOCKER_MANIFEST, oci_config, false).0,
        400
    );
    assert_eq!(
        put(
            &docker_only.addr,
            "e",
            DOCKER_MANIFEST,
            docker_config,
            false
        )
        .0,
        201
    );
}

#[test]
fn a_docker_media_types_only_registry_takes_cosign_with_docker_types_only() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/old", "v1", "o");
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::DockerMediaTypesOnly]);
    run(cs(2, d).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
    let image = format!("{}/acme/old@{digest}", proxy.addr);
    let sign = |docker_types: bool| {
        let mut c = cs(2, d);
        if docker_types {
            c.env("COSIGN_DOCKER_MEDIA_TYPES", "1");
        }
        run(c.args([
            "sign",
            "--key",
            "k.key",
            "--tlog-upload=false",
            "-y",
            "--allow-http-registry",
            &image,
        ]))
    };
    let refused = sign(false);
    assert_ne!(
        refused.code,
        0,
        "cosign v2 wrote OCI types through: {}",
        refused.all()
    );
    assert!(
        refused.all().contains("MANIFEST_INVALID"),
        "{}",
        refused.all()
    );
    sign(true).ok();
    let sig = reg.manifest("acme/old", &sig_tag(&digest)).expect(".sig");
    let v: serde_json::Value = serde_json::from_slice(&sig).expect("json");
    assert_eq!(v["mediaType"], DOCKER_MANIFEST);
    cosign_verify(2, d, &image, |c| {
        c.arg("--allow-http-registry");
    })
    .ok();
}

// ---- Bearer token auth and TLS ----

/// ferrosign signs `image` with `k.key` and the registry credentials as flags.
fn sign_with_creds(
    d: &Path,
    image: &str,
    password: &str,
    env: &[(&str, &Path)],
    http: bool,
) -> Run {
    let mut c = fs(d);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(["sign", "--key", "k.key", "--tlog-upload=false"]);
    if http {
        c.arg("--allow-insecure-registry");
    }
    run(c.args([
        "--registry-username",
        USER,
        "--registry-password",
        password,
        image,
    ]))
}

#[test]
fn bearer_token_registry_ferrosign_signs_and_cosign_verifies() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start_with_token_auth(USER, SECRET);
    assert!(reg.challenges_for_bearer(), "no Bearer challenge");
    let digest = reg.push_image("acme/app", "v1", "b");
    keypair(d);
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let issuer = reg.token.as_ref().expect("issuer");

    // A wrong password: the issuer refuses the token and so does ferrosign, naming the registry.
    let bad = sign_with_creds(d, &image, "wrong", &[], true);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(issuer.requests().iter().any(|r| r["status"] == 401
        && r["agent"]
            .as_str()
            .is_some_and(|a| a.starts_with("ferrosign/"))));
    assert!(reg.sig_layers("acme/app", &digest).is_empty());

    sign_with_creds(d, &image, SECRET, &[], true).ok();
    let ferrosign_tokens: Vec<_> = issuer
        .requests()
        .into_iter()
        .filter(|r| {
            r["status"] == 200
                && r["agent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("ferrosign/"))
        })
        .collect();
    assert!(!ferrosign_tokens.is_empty(), "{:#?}", issuer.requests());
    assert!(ferrosign_tokens
        .iter()
        .any(
            |r| r["scopes"].as_array().is_some_and(|s| s.iter().any(|s| s
                .as_str()
                .is_some_and(|s| s.starts_with("repository:acme/app:") && s.contains("push"))))
        ));
    assert_eq!(reg.sig_layers("acme/app", &digest).len(), 1);

    // cosign v3 verifies with the same credentials (flags), and with a docker config file.
    cosign_verify(3, d, &image, |c| {
        c.args(["--registry-username", USER, "--registry-password", SECRET]);
    })
    .ok();
    let config = reg.docker_config(&d.join("docker"));
    cosign_verify(3, d, &image, |c| {
        c.env("DOCKER_CONFIG", &config);
    })
    .ok();
    // ferrosign verifies with the docker config file too.
    run(fs(d).env("DOCKER_CONFIG", &config).args([
        "verify",
        "--key",
        "k.pub",
        "--insecure-ignore-tlog",
        "--allow-http-registry",
        &image,
    ]))
    .ok();
}

#[test]
fn tls_registry_with_a_test_ca_ferrosign_signs_and_cosign_verifies() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start_tls();
    let ca = reg.ca.clone().expect("CA");
    let digest = reg.push_image("acme/app", "v1", "t");
    keypair(d);
    let image = format!("{}/acme/app@{digest}", reg.addr);
    // Without the CA the registry's certificate is not trusted.
    let untrusted = run(fs(d).args(["sign", "--key", "k.key", "--tlog-upload=false", &image]));
    assert_eq!(untrusted.code, 1, "{}", untrusted.all());
    assert!(reg.sig_layers("acme/app", &digest).is_empty());
    // With it (SSL_CERT_FILE, as the container image sets it), over HTTPS.
    run(fs(d).env("SSL_CERT_FILE", &ca).args([
        "sign",
        "--key",
        "k.key",
        "--tlog-upload=false",
        &image,
    ]))
    .ok();
    assert_eq!(reg.sig_layers("acme/app", &digest).len(), 1);
    assert!(
        reg.log().contains("\"PUT /v2/acme/app/manifests/sha256-"),
        "{}",
        reg.log()
    );
    cosign_verify(3, d, &image, |c| {
        c.env("SSL_CERT_FILE", &ca);
    })
    .ok();
    // cosign without the CA cannot verify it either (its plain-HTTP fallback for 127.0.0.1 gets a 400).
    let cosign_untrusted = cosign_verify(3, d, &image, |_| {});
    assert_ne!(cosign_untrusted.code, 0, "{}", cosign_untrusted.all());
    run(fs(d).env("SSL_CERT_FILE", &ca).args([
        "verify",
        "--key",
        "k.pub",
        "--insecure-ignore-tlog",
        &image,
    ]))
    .ok();
}

#[test]
fn ghcr_like_registry_tls_and_bearer_tokens() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start_tls_with_token_auth(USER, SECRET);
    let ca = reg.ca.clone().expect("CA");
    assert!(reg.challenges_for_bearer());
    let digest = reg.push_image("acme/app", "v1", "g");
    keypair(d);
    let image = format!("{}/acme/app@{digest}", reg.addr);
    sign_with_creds(d, &image, SECRET, &[("SSL_CERT_FILE", &ca)], false).ok();
    assert_eq!(reg.sig_layers("acme/app", &digest).len(), 1);
    cosign_verify(3, d, &image, |c| {
        c.env("SSL_CERT_FILE", &ca).args([
            "--registry-username",
            USER,
            "--registry-password",
            SECRET,
        ]);
    })
    .ok();
    // The default format attached a bundle too, which cosign v2.6.5 then reads instead of the `.sig`,
    // and for which it requires a trusted root even with a key and no log (it uses none of it).
    let tr = crate::support::empty_trusted_root(d);
    cosign_verify(2, d, &image, |c| {
        c.env("SSL_CERT_FILE", &ca).args([
            "--registry-username",
            USER,
            "--registry-password",
            SECRET,
        ]);
        c.arg("--trusted-root").arg(&tr);
    })
    .ok();
}
