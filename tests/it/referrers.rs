//! The OCI 1.1 referrers of `oci::referrers` (through the hidden `ferrosign::testing` hooks, before a
//! command of ferrosign uses them) against the real peers: the referrers-API registry
//! (go-containerregistry, tests/peers/referrers-registry), Debian's docker-registry (no API: the
//! `sha256-<hex>` tag schema), and the fault proxy in front of either (pages, duplicates, a server-side
//! filter, failures, a registry refusing `subject`, a layer served beyond its size).

use crate::bundle_peers::ReferrersRegistry;
use crate::support::proxy::{Fault, FaultProxy, On};
use crate::support::registry::TestRegistry;
use ferrosign::testing::{self, Attached, Failure, Fetched, Listed};
use std::collections::BTreeMap;

const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/spdx+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn annotations(n: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "dev.sigstore.bundle.content".to_string(),
            "dsse-envelope".to_string(),
        ),
        ("n".to_string(), n.to_string()),
    ])
}

/// Attaches one artifact per `(type, n)` to `digest` at once, each through a fresh client (as separate
/// processes would).
fn attach_all(
    addr: &str,
    repo: &str,
    digest: &str,
    artifacts: Vec<(&'static str, usize)>,
) -> Vec<Result<Attached, Failure>> {
    let repository = format!("{addr}/{repo}");
    rt().block_on(async {
        let tasks: Vec<_> = artifacts
            .into_iter()
            .map(|(t, n)| {
                let repository = repository.clone();
                let digest = digest.to_string();
                tokio::spawn(async move {
                    testing::attach(
                        &repository,
                        &digest,
                        t,
                        format!("{{\"n\":{n}}}").into_bytes(),
                        annotations(n),
                    )
                    .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    })
}

fn list(addr: &str, repo: &str, digest: &str, filter: Option<&str>) -> Result<Listed, Failure> {
    rt().block_on(testing::list(&format!("{addr}/{repo}"), digest, filter))
}

fn fetch(addr: &str, digest: &str, layer_type: &str) -> Result<Option<Fetched>, Failure> {
    rt().block_on(testing::fetch(
        &format!("{addr}/acme/app"),
        digest,
        layer_type,
    ))
}

fn digest_of(v: &serde_json::Value) -> &str {
    v["digest"].as_str().expect("digest")
}

#[test]
fn referrers_api_registry_keeps_the_list_and_listing_resolves_config_type_entries() {
    let reg = ReferrersRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "api");
    let done = attach_all(&reg.addr, "acme/app", &digest, vec![(BUNDLE, 1), (SBOM, 2)]);
    for d in &done {
        assert!(d.as_ref().expect("attached").via_api);
    }
    // No fallback tag on a registry with the API.
    assert!(reg
        .manifest("acme/app", &digest.replacen(':', "-", 1))
        .is_none());
    // The peer reports the config type (the empty type) as every entry's artifactType: unfiltered, both;
    // filtered, the real type is learnt from each manifest.
    let all = list(&reg.addr, "acme/app", &digest, None).expect("list");
    assert!(all.via_api);
    assert_eq!(all.referrers.len(), 2);
    assert!(all.referrers.iter().all(|r| r["artifactType"] == EMPTY));
    let bundles = list(&reg.addr, "acme/app", &digest, Some(BUNDLE)).expect("list");
    assert_eq!(bundles.referrers.len(), 1, "{:?}", bundles.referrers);
    let bundle_digest = digest_of(&bundles.referrers[0]).to_string();
    assert_eq!(bundle_digest, done[0].as_ref().unwrap().digest);
    let sboms = list(&reg.addr, "acme/app", &digest, Some(SBOM)).expect("list");
    assert_eq!(sboms.referrers.len(), 1);
    assert_eq!(
        digest_of(&sboms.referrers[0]),
        done[1].as_ref().unwrap().digest
    );
    // The bundle read back: its manifest's fields and its one layer, digest-checked.
    let got = fetch(&reg.addr, &bundle_digest, BUNDLE)
        .expect("fetch")
        .expect("an artifact with one bundle layer");
    assert_eq!(got.bytes, br#"{"n":1}"#);
    assert_eq!(got.artifact_type.as_deref(), Some(BUNDLE));
    assert_eq!(got.annotations["n"], "1");
    assert_eq!(got.subject_digest.as_deref(), Some(digest.as_str()));
    // A layer type the caller does not want: skipped before its blob is fetched.
    assert!(fetch(&reg.addr, digest_of(&sboms.referrers[0]), BUNDLE)
        .expect("fetch")
        .is_none());
    // A layer served far beyond its descriptor's size: stopped there, an error naming it.
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::HugeBlob {
            on: On::blob(&got.layer_digest),
            len: Some(1 << 30),
        }],
    );
    let err = fetch(&proxy.addr, &bundle_digest, BUNDLE).expect_err("oversized layer");
    assert!(err.message.contains("served more than"), "{err}");
    // A digest nothing refers to: an empty listing from the API.
    let other = reg.push_image("acme/app", "v2", "other");
    let none = list(&reg.addr, "acme/app", &other, None).expect("list");
    assert!(none.via_api);
    assert_eq!(none.referrers.len(), 0);
}

#[test]
fn paged_and_duplicated_answers_are_followed_and_merged_and_a_server_filter_is_trusted() {
    let reg = ReferrersRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "pages");
    let mut arts: Vec<(&'static str, usize)> = (0..5).map(|n| (BUNDLE, n)).collect();
    arts.push((SBOM, 9));
    let done = attach_all(&reg.addr, "acme/app", &digest, arts);
    assert!(done.iter().all(Result::is_ok));
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::Referrers {
            per_page: 2,
            duplicate: true,
            filter: false,
        }],
    );
    let all = list(&proxy.addr, "acme/app", &digest, None).expect("list");
    assert_eq!(all.referrers.len(), 6, "{:?}", all.referrers);
    // 6 entries, 2 a page: 3 pages.
    assert_eq!(
        proxy.count("GET", "/referrers/"),
        3,
        "{:#?}",
        proxy.requests()
    );
    let mut digests: Vec<_> = all.referrers.iter().map(digest_of).collect();
    digests.sort_unstable();
    digests.dedup();
    assert_eq!(digests.len(), 6);
    // Filtered on the client: the SBOM is learnt from its manifest and left out.
    let bundles = list(&proxy.addr, "acme/app", &digest, Some(BUNDLE)).expect("list");
    assert_eq!(bundles.referrers.len(), 5);
    // A registry that filters (OCI-Filters-Applied) is trusted: entries are the ones it kept.
    let filtering = FaultProxy::start(
        &reg.addr,
        vec![Fault::Referrers {
            per_page: 100,
            duplicate: false,
            filter: true,
        }],
    );
    // The peer's entries all carry the empty type, so a registry-side filter on it keeps them all and
    // one on the bundle type keeps none: what the registry says stands.
    let kept = list(&filtering.addr, "acme/app", &digest, Some(EMPTY)).expect("list");
    assert_eq!(kept.referrers.len(), 6);
    let none = list(&filtering.addr, "acme/app", &digest, Some(BUNDLE)).expect("list");
    assert_eq!(none.referrers.len(), 0);
    assert_eq!(
        filtering.count("GET", "/manifests/"),
        0,
        "no manifest fetched"
    );
}

#[test]
fn tag_schema_entries_carry_artifact_type_and_annotations_and_eight_writers_all_land() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "tagschema");
    let done = attach_all(
        &reg.addr,
        "acme/app",
        &digest,
        (0..8).map(|n| (BUNDLE, n)).collect(),
    );
    let digests: Vec<String> = done
        .iter()
        .map(|d| {
            let d = d.as_ref().expect("attached");
            assert!(!d.via_api);
            assert!(d.index_entries.is_some_and(|n| (1..=8).contains(&n)));
            assert!(d.manifest.ends_with(&d.digest));
            d.digest.clone()
        })
        .collect();
    let index: serde_json::Value = serde_json::from_slice(
        &reg.manifest("acme/app", &digest.replacen(':', "-", 1))
            .expect("tag-schema index"),
    )
    .expect("json");
    let entries = index["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 8, "{index}");
    for d in &digests {
        let e = entries
            .iter()
            .find(|e| e["digest"] == d.as_str())
            .unwrap_or_else(|| panic!("{d} missing from {index}"));
        assert_eq!(e["artifactType"], BUNDLE);
        assert_eq!(
            e["annotations"]["dev.sigstore.bundle.content"],
            "dsse-envelope"
        );
    }
    let listed = list(&reg.addr, "acme/app", &digest, Some(BUNDLE)).expect("list");
    assert!(!listed.via_api);
    assert_eq!(listed.referrers.len(), 8);
    assert_eq!(
        list(&reg.addr, "acme/app", &digest, Some(SBOM))
            .expect("list")
            .referrers
            .len(),
        0
    );
}

#[test]
fn cosign_4641_entries_with_the_empty_type_are_read_as_what_their_manifest_says() {
    // A fallback index written the way cosign v2.6.5 writes it: the entry's artifactType is the config's
    // media type, not the manifest's.
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "4641");
    let done = attach_all(&reg.addr, "acme/app", &digest, vec![(BUNDLE, 1)]);
    let d = done[0].as_ref().expect("attached").digest.clone();
    let tag = digest.replacen(':', "-", 1);
    let mut index: serde_json::Value =
        serde_json::from_slice(&reg.manifest("acme/app", &tag).expect("index")).expect("json");
    index["manifests"][0]["artifactType"] = serde_json::json!(EMPTY);
    index["manifests"][0]
        .as_object_mut()
        .expect("entry")
        .remove("annotations");
    reg.put_manifest(
        "acme/app",
        &tag,
        index.to_string().as_bytes(),
        "application/vnd.oci.image.index.v1+json",
    );
    let listed = list(&reg.addr, "acme/app", &digest, Some(BUNDLE)).expect("list");
    assert_eq!(listed.referrers.len(), 1);
    assert_eq!(digest_of(&listed.referrers[0]), d);
}

#[test]
fn a_failed_read_is_an_error_never_an_empty_list_and_nothing_is_written() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "fail");
    attach_all(&reg.addr, "acme/app", &digest, vec![(BUNDLE, 1)])
        .remove(0)
        .expect("first");
    let tag_path = r"^/v2/acme/app/manifests/sha256-[0-9a-f]{64}$";
    // The tag-schema index answers 429 for longer than the retry budget allows.
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::too_many(On::req("GET", tag_path), 1000, 60)],
    );
    let err = list(&proxy.addr, "acme/app", &digest, None).expect_err("must fail");
    assert!(err.message.contains("429"), "{err}");
    let err = attach_all(&proxy.addr, "acme/app", &digest, vec![(BUNDLE, 2)])
        .remove(0)
        .expect_err("must fail");
    assert!(err.message.contains("429"), "{err}");
    assert_eq!(proxy.count("PUT", tag_path), 0, "{:#?}", proxy.requests());
    let index: serde_json::Value = serde_json::from_slice(
        &reg.manifest("acme/app", &digest.replacen(':', "-", 1))
            .expect("index"),
    )
    .expect("json");
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(1));
    // On the API path too: a failure of the referrers API is an error, not "none".
    let api = ReferrersRegistry::start();
    let d2 = api.push_image("acme/app", "v1", "fail2");
    let p2 = FaultProxy::start(
        &api.addr,
        vec![Fault::too_many(On::req("GET", "/referrers/"), 1000, 60)],
    );
    assert!(list(&p2.addr, "acme/app", &d2, None).is_err());
}

#[test]
fn a_registry_refusing_subject_gives_the_distinct_error() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "refuse");
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::RefuseSubject]);
    let err = attach_all(&proxy.addr, "acme/app", &digest, vec![(BUNDLE, 1)])
        .remove(0)
        .expect_err("refused");
    assert!(err.subject_refused, "{err}");
    assert!(reg
        .manifest("acme/app", &digest.replacen(':', "-", 1))
        .is_none());
}
