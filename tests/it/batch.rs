//! Many images in one run (issue 15): signed concurrently (`--max-workers`), each exactly once, the output
//! in the order the images were given, and cosign verifies every one. Correctness, not speed: no test
//! here measures time (the benchmark is `bench/run.sh`).

use crate::support::proxy::{Fault, FaultProxy, Seen};
use crate::support::registry::TestRegistry;
use crate::support::{cosign, ferrosign, run, tempdir, Run};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const PW: &str = "test-password";

fn sign(dir: &Path, extra: &[&str], images: &[String]) -> Run {
    run(ferrosign(dir)
        .env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .args([
            "sign",
            "--key",
            "k.key",
            "--tlog-upload=false",
            "--allow-insecure-registry",
        ])
        .args(extra)
        .args(images))
}

/// How many different images had their `.sig` manifest read before the first manifest (of any
/// layout) was written: 1 when images are signed one at a time (the next one starts at the earliest
/// during the first one's settling window, after its writes), more when their signing overlaps.
fn images_signing_before_first_manifest_put(seen: &[Seen]) -> usize {
    let mut repos: Vec<&str> = Vec::new();
    for s in seen {
        if s.method == "PUT" && s.path.contains("/manifests/") {
            break;
        }
        if !s.path.contains(".sig") {
            continue;
        }
        if s.method == "GET" || s.method == "HEAD" {
            let repo = s.path.split("/manifests/").next().unwrap_or_default();
            if !repos.contains(&repo) {
                repos.push(repo);
            }
        }
    }
    repos.len()
}

#[test]
fn a_hundred_images_in_one_run_are_each_signed_once_in_order_and_cosign_verifies_them() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    run(ferrosign(d).env("COSIGN_PASSWORD", PW).args([
        "generate-key-pair",
        "--output-key-prefix",
        "k",
    ]))
    .ok();
    // A little latency, so that the images' requests are in flight together.
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::latency(Duration::from_millis(6))]);
    let pushed: Vec<(String, String)> = (0..100)
        .map(|i| {
            let repo = format!("acme/many-{i:03}");
            let digest = reg.push_image(&repo, "v1", &format!("many {i}"));
            (repo, digest)
        })
        .collect();
    let images: Vec<String> = pushed
        .iter()
        .map(|(repo, digest)| format!("{}/{repo}@{digest}", proxy.addr))
        .collect();
    let r = sign(d, &["--max-workers", "8", "-a", "batch=100"], &images).ok();
    // One line per image, in the order given.
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines, images, "{}", r.all());
    // They overlapped: several images were under way before the first signature was written.
    let seen = proxy.requests();
    assert!(
        images_signing_before_first_manifest_put(&seen) >= 2,
        "signed one after the other: {:?}",
        &seen[..seen.len().min(30)]
    );
    // Exactly one signature each, of its own digest, in each layout of the default format.
    for (repo, digest) in &pushed {
        let payloads = reg.sig_payloads(repo, digest);
        assert_eq!(payloads.len(), 1, "{repo}: {payloads:?}");
        assert!(
            payloads[0].contains(digest.as_str()),
            "{repo}: {payloads:?}"
        );
        assert_eq!(bundle_entries(&reg, repo, digest), 1, "{repo}");
    }
    // cosign v3 verifies all of them (the bundles, which it reads first), in one process, from the
    // registry itself.
    let direct: Vec<String> = pushed
        .iter()
        .map(|(repo, digest)| format!("{}/{repo}@{digest}", reg.addr))
        .collect();
    let v = run(cosign(3, d)
        .args([
            "verify",
            "--key",
            "k.pub",
            "--insecure-ignore-tlog",
            "--allow-http-registry",
            "-a",
            "batch=100",
        ])
        .args(&direct))
    .ok();
    assert_eq!(
        v.stdout.lines().filter(|l| l.starts_with('[')).count(),
        100,
        "{}",
        v.all()
    );
}

/// The Sigstore bundles listed for `digest` in docker-registry's referrers tag-schema index
/// (`sha256-<hex>`; the registry has no referrers API).
fn bundle_entries(reg: &TestRegistry, repo: &str, digest: &str) -> usize {
    let Some(bytes) = reg.manifest(repo, &digest.replacen(':', "-", 1)) else {
        return 0;
    };
    let index: serde_json::Value = serde_json::from_slice(&bytes).expect("index");
    index["manifests"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|e| {
                    e["artifactType"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// 16 processes sign one digest at once with the default format (`.sig` and bundle side by side),
/// through 20 ms of added round-trip time, twice: every process succeeds and all 32 signatures are
/// present in both layouts (the `.sig` manifest and the tag-schema index are both read-modify-written).
#[test]
fn sixteen_processes_on_one_digest_with_the_default_format_all_land_in_both_layouts() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    run(ferrosign(d).env("COSIGN_PASSWORD", PW).args([
        "generate-key-pair",
        "--output-key-prefix",
        "k",
    ]))
    .ok();
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::latency(Duration::from_millis(20))]);
    let digest = reg.push_image("acme/race", "v1", "race");
    let image = format!("{}/acme/race@{digest}", proxy.addr);
    for round in 0..2 {
        let children: Vec<_> = (0..16)
            .map(|i| {
                ferrosign(d)
                    .env("COSIGN_PASSWORD", PW)
                    .env("DOCKER_CONFIG", d.join("no-docker-config"))
                    .args([
                        "sign",
                        "--key",
                        "k.key",
                        "--tlog-upload=false",
                        "--allow-insecure-registry",
                        "-a",
                    ])
                    .arg(format!("signer=r{round}-{i}"))
                    .arg(&image)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let want = 16 * (round + 1);
        assert_eq!(
            reg.sig_layers("acme/race", &digest).len(),
            want,
            "round {round}: .sig layers lost"
        );
        assert_eq!(
            bundle_entries(&reg, "acme/race", &digest),
            want,
            "round {round}: bundles lost"
        );
    }
}

/// With one worker, one image at a time; the slot is given back while an image waits out its settling
/// window (src/oci/slot.rs), so the next image starts then, before the re-read that ends the first.
#[test]
fn max_workers_one_signs_one_image_at_a_time_and_bad_values_are_refused() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    run(ferrosign(d).env("COSIGN_PASSWORD", PW).args([
        "generate-key-pair",
        "--output-key-prefix",
        "k",
    ]))
    .ok();
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::latency(Duration::from_millis(6))]);
    let images: Vec<String> = (0..4)
        .map(|i| {
            let repo = format!("acme/one-{i}");
            let digest = reg.push_image(&repo, "v1", &format!("one {i}"));
            format!("{}/{repo}@{digest}", proxy.addr)
        })
        .collect();
    let r = sign(d, &["--max-workers", "1"], &images).ok();
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), images);
    // The check the concurrent test relies on tells the two apart.
    let seen = proxy.requests();
    assert_eq!(images_signing_before_first_manifest_put(&seen), 1);
    // The second image's first request comes before the first image's last one, the re-read after
    // its settling window.
    let of = |i: usize, s: &Seen| s.path.starts_with(&format!("/v2/acme/one-{i}/"));
    let first_of_second = seen.iter().position(|s| of(1, s));
    let last_of_first = seen.iter().rposition(|s| of(0, s));
    assert!(
        first_of_second
            .zip(last_of_first)
            .is_some_and(|(a, b)| a < b),
        "{seen:#?}"
    );
    let last = &seen[last_of_first.unwrap_or_default()];
    assert!(
        last.method == "GET" && last.path.contains("/manifests/"),
        "{last:?}"
    );
    for bad in ["0", "65", "many"] {
        sign(d, &["--max-workers", bad], &images[..1])
            .fails(2, "--max-workers")
            .hint("--max-workers=16");
    }
}
