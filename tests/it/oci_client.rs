//! The registry layer (src/oci/) driven end to end through the binary, where the user meets it: a
//! registry that takes only Docker media types (`COSIGN_DOCKER_MEDIA_TYPES`, issue 12 row 6) and the
//! transport flags as cosign has them (issue 12 row 8), each checked against the real cosign.

use crate::support::proxy::{Fault, FaultProxy, SIG_MANIFEST_PATH};
use crate::support::registry::{TestRegistry, DOCKER_MANIFEST};
use crate::support::{cosign, ferrosign, run, tempdir, Run};
use std::path::Path;
use std::process::Command;

const PW: &str = "test-password";
const DOCKER_CONFIG_TYPE: &str = "application/vnd.docker.container.image.v1+json";

fn fs(dir: &Path) -> Command {
    let mut c = ferrosign(dir);
    c.env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    c
}

fn cosign_verify(major: u32, dir: &Path, image: &str, extra: &[&str]) -> Run {
    let mut c = cosign(major, dir);
    c.env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .args(["verify", "--key", "k.pub", "--insecure-ignore-tlog"])
        .args(extra);
    run(c.arg(image))
}

fn sig_manifest(reg: &TestRegistry, repo: &str, digest: &str) -> serde_json::Value {
    let tag = format!("{}.sig", digest.replacen(':', "-", 1));
    serde_json::from_slice(&reg.manifest(repo, &tag).expect(".sig manifest")).expect("json")
}

#[test]
fn docker_media_types_only_registry_takes_cosign_docker_media_types_and_the_sig_stays_docker() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/old", "v1", "docker-only");
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::DockerMediaTypesOnly]);
    run(fs(d).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
    let image = format!("{}/acme/old@{digest}", proxy.addr);
    let sign = |var: Option<&str>, note: &str| {
        let mut c = fs(d);
        if let Some(v) = var {
            c.env("COSIGN_DOCKER_MEDIA_TYPES", v);
        }
        run(c.args([
            "sign",
            "--key",
            "k.key",
            "--tlog-upload=false",
            "-a",
            &format!("note={note}"),
            &image,
        ]))
    };
    // OCI types: the registry's permanent 400, sent once (not retried), never "retry later".
    let refused = sign(None, "oci")
        .fails(1, "MANIFEST_INVALID")
        .hint("COSIGN_DOCKER_MEDIA_TYPES=1");
    assert!(
        !refused.stderr.contains("retry later"),
        "{}",
        refused.stderr
    );
    assert_eq!(proxy.count("PUT", SIG_MANIFEST_PATH), 1);
    // Not one of Go's ParseBool spellings: refused on purpose (cosign would silently write OCI).
    sign(Some("yes"), "yes").fails(2, "COSIGN_DOCKER_MEDIA_TYPES must be");
    // With it: a Docker manifest and config, as cosign writes them.
    sign(Some("1"), "docker").ok();
    let v = sig_manifest(&reg, "acme/old", &digest);
    assert_eq!(v["mediaType"], DOCKER_MANIFEST, "{v}");
    assert_eq!(v["config"]["mediaType"], DOCKER_CONFIG_TYPE, "{v}");
    // Adding to a Docker-typed `.sig` keeps it Docker-typed, with or without the variable.
    sign(None, "second").ok();
    let v = sig_manifest(&reg, "acme/old", &digest);
    assert_eq!(v["mediaType"], DOCKER_MANIFEST, "{v}");
    assert_eq!(v["config"]["mediaType"], DOCKER_CONFIG_TYPE, "{v}");
    assert_eq!(v["layers"].as_array().map(Vec::len), Some(2), "{v}");
    for major in [2, 3] {
        for note in ["note=docker", "note=second"] {
            cosign_verify(major, d, &image, &["--allow-http-registry", "-a", note]).ok();
        }
    }
}

#[test]
fn transport_flags_are_cosigns_insecure_is_tls_without_verification_and_http_is_plain() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start_tls();
    let digest = reg.push_image("acme/app", "v1", "transport");
    run(fs(d).args(["generate-key-pair", "--output-key-prefix", "k"])).ok();
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let sign = |flags: &[&str]| {
        run(fs(d)
            .args(["sign", "--key", "k.key", "--tlog-upload=false"])
            .args(flags)
            .arg(&image))
    };
    // A certificate that does not verify: refused, and the hint names the flag that accepts it. (The
    // plain-HTTP retry a local registry gets is answered 400 by the TLS server: the TLS error stands.)
    sign(&[])
        .fails(1, "cannot reach the registry")
        .hint("--allow-insecure-registry");
    // --allow-http-registry is plain HTTP, which a TLS registry does not speak: refused, as in cosign.
    sign(&["--allow-http-registry"]).fails(1, "cannot reach the registry");
    assert!(reg.sig_layers("acme/app", &digest).is_empty());
    // --allow-insecure-registry: still HTTPS, the certificate not checked.
    sign(&["--allow-insecure-registry"]).ok();
    assert_eq!(reg.sig_layers("acme/app", &digest).len(), 1);
    assert!(
        reg.log().contains("\"PUT /v2/acme/app/manifests/sha256-"),
        "{}",
        reg.log()
    );
    cosign_verify(3, d, &image, &["--allow-insecure-registry"]).ok();
    run(fs(d).args([
        "verify",
        "--key",
        "k.pub",
        "--insecure-ignore-tlog",
        "--allow-insecure-registry",
        &image,
    ]))
    .ok();
}
