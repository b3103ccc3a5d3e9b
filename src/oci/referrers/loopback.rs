//! [`attach`], [`list`] and [`fetch`] against a registry in memory on loopback ([`crate::oci::memory`]):
//! the API and the tag schema, pages, duplicates and limits, the filter, refusals and retries (issue
//! 16's mutation run: each test fails with mutants of this file). tests/it/referrers.rs,
//! bundle.rs and batch.rs drive the same code against the real registries.

use super::*;
use crate::net::loopback::{Answer, Request};
use crate::oci::memory::{error, Memory, Options};
use crate::oci::RegistryOptions;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/vnd.example.sbom+json";

fn registry() -> Registry {
    Registry::new(RegistryOptions::default())
        .unwrap()
        .for_image(true)
}

/// An image in `app` (config and one layer), tagged `v1`: its reference and descriptor.
fn pushed_image(fake: &Memory) -> (ImageRef, ManifestHead) {
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let layer = b"a layer".as_slice();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": crate::oci::OCI_CONFIG, "size": config.len(), "digest": crate::oci::sha256_digest(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": layer.len(), "digest": crate::oci::sha256_digest(layer)}],
    }))
    .unwrap();
    fake.put_blob(config);
    fake.put_blob(layer);
    let digest = fake.put_manifest("app", "v1", OCI_MANIFEST, &manifest);
    let head = ManifestHead {
        media_type: OCI_MANIFEST.into(),
        size: manifest.len() as u64,
        digest,
    };
    (fake.image("app:v1"), head)
}

fn artifact(artifact_type: &str, layer: &str) -> Artifact {
    Artifact {
        artifact_type: artifact_type.into(),
        layer_media_type: artifact_type.into(),
        layer: layer.as_bytes().to_vec(),
        annotations: BTreeMap::from([("org.example.layer".into(), layer.into())]),
    }
}

/// The tag-schema index of `subject`, if there is one.
fn tag_index(fake: &Memory, subject: &ManifestHead) -> Option<serde_json::Value> {
    json(fake, &subject.digest.replacen(':', "-", 1))
}

/// The manifest at `reference` in `app`, as JSON.
fn json(fake: &Memory, reference: &str) -> Option<serde_json::Value> {
    let (_, bytes) = fake.manifest("app", reference)?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

fn digests(listing: &Listing) -> Vec<String> {
    listing.referrers.iter().map(|d| d.digest.clone()).collect()
}

/// Requests of the log that start with `prefix`.
fn count(fake: &Memory, prefix: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|l| l.starts_with(prefix))
        .count()
}

#[tokio::test]
async fn with_the_api_the_registry_keeps_the_list_and_no_index_is_written() {
    let fake = Memory::start_with(Options {
        referrers_api: true,
        ..Options::default()
    });
    let (image, subject) = pushed_image(&fake);
    let r = registry();
    let bundle = attach(&r, &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap();
    assert_eq!(bundle.recorded, Recorded::Api);
    assert_eq!(bundle.index_entries, None);
    assert_eq!(bundle.manifest, image.with_digest(&bundle.digest));
    let stored = json(&fake, &bundle.digest).unwrap();
    assert_eq!(stored["subject"]["digest"], subject.digest.as_str());
    let sbom = attach(&r, &image, &subject, &artifact(SBOM, "s1"))
        .await
        .unwrap();
    assert_eq!(sbom.recorded, Recorded::Api);
    // the registry's API answered (without `OCI-Subject`): no tag-schema index
    assert_eq!(tag_index(&fake, &subject), None);
    assert_eq!(r.referrers_api(image.registry()), Some(true));

    let all = list(&r, &image, &subject.digest, None).await.unwrap();
    assert_eq!(all.source, Source::Api);
    let mut want = vec![bundle.digest.clone(), sbom.digest.clone()];
    want.sort();
    assert_eq!(digests(&all), want);
    // the registry does not filter (no `OCI-Filters-Applied`): filtered here
    let bundles = list(&r, &image, &subject.digest, Some(BUNDLE))
        .await
        .unwrap();
    assert_eq!(digests(&bundles), [bundle.digest.as_str()]);
    assert_eq!(artifact_type(&bundles.referrers[0]), Some(BUNDLE));
    assert!(fake
        .requests()
        .iter()
        .any(|l| l.contains("/referrers/") && l.contains("?artifactType=application%2Fvnd.dev")));
}

#[tokio::test]
async fn without_the_api_the_index_gets_each_entry_with_its_type_and_annotations_once() {
    let fake = Memory::start();
    let (image, subject) = pushed_image(&fake);
    let r = registry();
    let first = attach(&r, &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap();
    assert_eq!(first.recorded, Recorded::TagSchema);
    assert_eq!(first.index_entries, Some(1));
    assert_eq!(r.referrers_api(image.registry()), Some(false));
    let index = tag_index(&fake, &subject).unwrap();
    let size = fake.manifest("app", &first.digest).unwrap().1.len();
    assert_eq!(
        index["manifests"],
        serde_json::json!([{
            "mediaType": OCI_MANIFEST,
            "size": size,
            "digest": first.digest,
            "artifactType": BUNDLE,
            "annotations": {"org.example.layer": "b1"},
        }])
    );
    assert_eq!(index["mediaType"], OCI_INDEX);

    let second = attach(&r, &image, &subject, &artifact(SBOM, "s1"))
        .await
        .unwrap();
    assert_eq!(second.index_entries, Some(2));
    // the same artifact again: the same manifest, already listed
    let again = attach(&r, &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap();
    assert_eq!(again.digest, first.digest);
    assert_eq!(again.index_entries, Some(2));
    let index = tag_index(&fake, &subject).unwrap();
    let listed: Vec<_> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, [first.digest.clone(), second.digest.clone()]);

    let all = list(&r, &image, &subject.digest, None).await.unwrap();
    assert_eq!(all.source, Source::TagSchema);
    assert_eq!(digests(&all), [first.digest.clone(), second.digest.clone()]);
    let sboms = list(&r, &image, &subject.digest, Some(SBOM)).await.unwrap();
    assert_eq!(digests(&sboms), [second.digest.as_str()]);
}

#[tokio::test]
async fn a_registry_answering_oci_subject_keeps_the_list_even_without_the_api() {
    let fake = Memory::start_with(Options {
        oci_subject: true,
        ..Options::default()
    });
    let (image, subject) = pushed_image(&fake);
    let a = attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap();
    assert_eq!(a.recorded, Recorded::Api);
    assert_eq!(tag_index(&fake, &subject), None);
}

/// A descriptor of a referrer numbered `n` (not stored: listing does not fetch typed entries).
fn entry(n: usize, artifact_type: &str) -> serde_json::Value {
    serde_json::json!({
        "mediaType": OCI_MANIFEST,
        "size": 100,
        "digest": crate::oci::sha256_digest(n.to_string().as_bytes()),
        "artifactType": artifact_type,
    })
}

/// A registry whose referrers API serves `pages` (page `k` links to page `k + 1`, absolute or
/// relative by turns); past the last one, the last one again while `forever`.
fn paging(pages: Vec<Vec<serde_json::Value>>, forever: bool) -> Memory {
    let fake = Memory::start();
    let host = fake.host.clone();
    fake.intercept(move |req: &Request| {
        if !req.target.contains("/referrers/") {
            return None;
        }
        let k: usize = req
            .target
            .split_once("page=")
            .map_or(0, |(_, k)| k.parse().unwrap());
        let page = &pages[k.min(pages.len() - 1)];
        let body =
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": page});
        let mut a =
            Answer::new(200, serde_json::to_vec(&body).unwrap()).with("Content-Type", OCI_INDEX);
        if forever || k + 1 < pages.len() {
            let path = format!("{}?page={}", req.target.split('?').next().unwrap(), k + 1);
            let link = if k % 2 == 0 {
                format!("<http://{host}{path}>; rel=\"next\"")
            } else {
                format!("<{path}>; rel=next")
            };
            a = a.with("Link", &link);
        }
        Some(a.into())
    });
    fake
}

fn limit_of(e: OciError) -> &'static str {
    match e {
        OciError::TooLarge { limit_name, .. } => limit_name,
        e => panic!("not a limit: {e}"),
    }
}

const SUBJECT: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

/// [`list`] of [`SUBJECT`] in `app`, after the subject's `HEAD` that callers make first (it finds the
/// registry's scheme: a `400` to the very first request over plain HTTP is taken as a TLS server's).
async fn listed(fake: &Memory) -> Result<Listing, OciError> {
    let r = registry();
    let image = fake.image("app");
    r.head_manifest(&image.with_digest(SUBJECT)).await?;
    list(&r, &image, SUBJECT, None).await
}

#[tokio::test]
async fn api_pages_are_followed_and_merged_without_duplicates() {
    let fake = paging(
        vec![
            vec![entry(1, BUNDLE), entry(2, BUNDLE)],
            vec![entry(2, BUNDLE), entry(3, SBOM)],
            vec![entry(1, BUNDLE)],
        ],
        false,
    );
    let l = listed(&fake).await.unwrap();
    assert_eq!(l.source, Source::Api);
    let want: Vec<_> = [1, 2, 3]
        .map(|n| crate::oci::sha256_digest(n.to_string().as_bytes()))
        .to_vec();
    assert_eq!(digests(&l), want);
    assert_eq!(count(&fake, "GET /v2/app/referrers/"), 3);
}

#[tokio::test]
async fn api_pages_are_bounded_in_number_and_entries() {
    // 4 pages of the same 500: 2,000 entries read (the most: twice MAX_REFERRERS), 500 listed
    let same: Vec<_> = (0..500).map(|n| entry(n, BUNDLE)).collect();
    let l = listed(&paging(vec![same.clone(); 4], false)).await.unwrap();
    assert_eq!(l.referrers.len(), 500);
    // a fifth page passes 2,000
    let e = listed(&paging(vec![same.clone(); 5], false))
        .await
        .unwrap_err();
    assert_eq!(limit_of(e), "MAX_REFERRERS");
    // 1,000 different ones listed; 1,001 are too many
    let page = |from: usize, n: usize| {
        (from..from + n)
            .map(|n| entry(n, BUNDLE))
            .collect::<Vec<_>>()
    };
    let l = listed(&paging(vec![page(0, 500), page(500, 500)], false))
        .await
        .unwrap();
    assert_eq!(l.referrers.len(), MAX_REFERRERS);
    let e = listed(&paging(vec![page(0, 500), page(500, 501)], false))
        .await
        .unwrap_err();
    assert_eq!(limit_of(e), "MAX_REFERRERS");
    // pages without end: MAX_REFERRER_PAGES are read, then the listing stops
    let endless = paging(vec![vec![entry(1, BUNDLE)]], true);
    let e = listed(&endless).await.unwrap_err();
    assert_eq!(limit_of(e), "MAX_REFERRER_PAGES");
    assert_eq!(
        count(&endless, "GET /v2/app/referrers/"),
        MAX_REFERRER_PAGES
    );
}

/// A registry whose referrers API answers with `entries` (and `OCI-Filters-Applied: <filters>` when
/// given), and which stores the manifests of the entries that tell nothing of their type.
fn typed_entries(filters: Option<&'static str>) -> (Memory, Vec<String>) {
    let fake = Memory::start();
    // an entry with the empty config's type whose manifest says it is a bundle (cosign issue 4641),
    // one without a type whose manifest is an SBOM by its config
    let empty_typed = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE,
        "config": {"mediaType": OCI_EMPTY, "size": 2, "digest": crate::oci::sha256_digest(b"{}")},
        "layers": [],
    }))
    .unwrap();
    let untyped = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": SBOM, "size": 2, "digest": crate::oci::sha256_digest(b"{}")},
        "layers": [],
    }))
    .unwrap();
    let e = fake.put_manifest("app", "e", OCI_MANIFEST, &empty_typed);
    let u = fake.put_manifest("app", "u", OCI_MANIFEST, &untyped);
    let mut entries = vec![entry(1, BUNDLE), entry(2, SBOM)];
    entries.push(serde_json::json!({"mediaType": OCI_MANIFEST, "size": empty_typed.len(), "digest": e, "artifactType": OCI_EMPTY}));
    entries
        .push(serde_json::json!({"mediaType": OCI_MANIFEST, "size": untyped.len(), "digest": u}));
    let names = entries
        .iter()
        .map(|e| e["digest"].as_str().unwrap().to_string())
        .collect();
    fake.intercept(move |req: &Request| {
        if !req.target.contains("/referrers/") {
            return None;
        }
        let body =
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        let mut a = Answer::new(200, serde_json::to_vec(&body).unwrap())
            .with("Content-Type", &format!("{OCI_INDEX}; charset=utf-8"));
        if let Some(f) = filters {
            a = a.with("OCI-Filters-Applied", f);
        }
        Some(a.into())
    });
    (fake, names)
}

#[tokio::test]
async fn a_filter_is_applied_here_and_entries_that_tell_nothing_are_looked_up() {
    let (fake, names) = typed_entries(None);
    let r = registry();
    let image = fake.image("app");
    let l = list(&r, &image, SUBJECT, Some(BUNDLE)).await.unwrap();
    // the bundle, and the empty-typed entry that its manifest shows to be one
    assert_eq!(digests(&l), [names[0].clone(), names[2].clone()]);
    assert_eq!(artifact_type(&l.referrers[1]), Some(BUNDLE));
    // only the two entries without a type of their own were looked up
    let looked_up: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|l| l.starts_with("GET /v2/app/manifests/"))
        .collect();
    assert_eq!(
        looked_up,
        [
            format!("GET /v2/app/manifests/{}", names[2]),
            format!("GET /v2/app/manifests/{}", names[3])
        ]
    );
    let l = list(&r, &image, SUBJECT, Some(SBOM)).await.unwrap();
    assert_eq!(digests(&l), [names[1].clone(), names[3].clone()]);
    let l = list(&r, &image, SUBJECT, None).await.unwrap();
    assert_eq!(digests(&l), names);
}

#[tokio::test]
async fn a_filter_the_registry_says_it_applied_is_trusted() {
    // (this registry says so and did not: what it answers is taken as it is)
    for header in ["artifactType", "annotations, artifactType"] {
        let (fake, names) = typed_entries(Some(header));
        let l = list(&registry(), &fake.image("app"), SUBJECT, Some(BUNDLE))
            .await
            .unwrap();
        assert_eq!(digests(&l), names, "{header}");
        assert_eq!(count(&fake, "GET /v2/app/manifests/"), 0);
    }
    let (fake, names) = typed_entries(Some("annotations"));
    let l = list(&registry(), &fake.image("app"), SUBJECT, Some(BUNDLE))
        .await
        .unwrap();
    assert_eq!(digests(&l), [names[0].clone(), names[2].clone()]);
}

/// A registry without the API whose tag-schema index of [`SUBJECT`] lists `entries`, and whose
/// referrers endpoint answers `status` with `content_type`.
fn no_api(status: u16, content_type: &'static str, entries: usize) -> Memory {
    let fake = Memory::start();
    let manifests: Vec<_> = (0..entries).map(|n| entry(n, BUNDLE)).collect();
    let index = serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .unwrap();
    fake.put_manifest("app", &SUBJECT.replacen(':', "-", 1), OCI_INDEX, &index);
    fake.intercept(move |req: &Request| {
        req.target.contains("/referrers/").then(|| {
            Answer::new(status, "{}")
                .with("Content-Type", content_type)
                .into()
        })
    });
    fake
}

#[tokio::test]
async fn a_registry_without_the_api_is_read_through_the_tag_schema_and_a_failure_is_an_error() {
    for (status, content_type) in [
        (404, "application/json"),
        (400, "application/json"),
        (406, "application/json"),
        // a 200 that is not an index (a catch-all page): no API either
        (200, "application/json"),
    ] {
        let l = listed(&no_api(status, content_type, 2)).await.unwrap();
        assert_eq!(l.source, Source::TagSchema, "{status}");
        assert_eq!(l.referrers.len(), 2, "{status}");
    }
    // a refusal is an error, never "no referrers"
    let e = listed(&no_api(403, "application/json", 2))
        .await
        .unwrap_err();
    assert!(matches!(e, OciError::Denied { .. }), "{e}");
    // an index of MAX_REFERRERS entries is read; one more is refused
    let l = listed(&no_api(404, "application/json", MAX_REFERRERS))
        .await
        .unwrap();
    assert_eq!(l.referrers.len(), MAX_REFERRERS);
    let e = listed(&no_api(404, "application/json", MAX_REFERRERS + 1))
        .await
        .unwrap_err();
    assert_eq!(limit_of(e), "MAX_REFERRERS");
}

#[tokio::test]
async fn the_index_is_not_written_past_max_referrers() {
    for (existing, fits) in [(MAX_REFERRERS - 1, true), (MAX_REFERRERS, false)] {
        let fake = Memory::start();
        let (image, subject) = pushed_image(&fake);
        let manifests: Vec<_> = (0..existing).map(|n| entry(n, SBOM)).collect();
        let index = serde_json::to_vec(
            &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
        )
        .unwrap();
        fake.put_manifest(
            "app",
            &subject.digest.replacen(':', "-", 1),
            OCI_INDEX,
            &index,
        );
        let attached = attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1")).await;
        if fits {
            assert_eq!(attached.unwrap().index_entries, Some(MAX_REFERRERS));
        } else {
            assert_eq!(limit_of(attached.unwrap_err()), "MAX_REFERRERS");
        }
    }
}

#[tokio::test]
async fn fetch_reads_the_one_layer_of_an_image_manifest_only() {
    let fake = Memory::start_with(Options {
        referrers_api: true,
        ..Options::default()
    });
    let (image, subject) = pushed_image(&fake);
    let r = registry();
    let a = attach(&r, &image, &subject, &artifact(BUNDLE, "the bundle"))
        .await
        .unwrap();
    let is_bundle = |t: &str| t == BUNDLE;
    let f = fetch(&r, &image, &a.digest, is_bundle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.bytes, b"the bundle");
    assert_eq!(f.artifact_type.as_deref(), Some(BUNDLE));
    assert_eq!(f.layer.media_type, BUNDLE);
    assert_eq!(f.annotations["org.example.layer"], "the bundle");
    assert_eq!(f.subject.unwrap().digest, subject.digest);
    // a layer of another type is not fetched
    let before = count(&fake, "GET /v2/app/blobs/");
    assert!(fetch(&r, &image, &a.digest, |t| t == SBOM)
        .await
        .unwrap()
        .is_none());
    assert_eq!(count(&fake, "GET /v2/app/blobs/"), before);
    // gone since it was listed
    assert!(fetch(&r, &image, SUBJECT, is_bundle)
        .await
        .unwrap()
        .is_none());

    // the same artifact as a Docker manifest (no artifactType: its config's type)
    let layer = b"the bundle".as_slice();
    let docker = |layers: serde_json::Value, media_type: &str| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": media_type,
            "config": {"mediaType": BUNDLE, "size": 2, "digest": crate::oci::sha256_digest(b"{}")},
            "layers": layers,
        }))
        .unwrap()
    };
    let one = serde_json::json!([{"mediaType": BUNDLE, "size": layer.len(), "digest": crate::oci::sha256_digest(layer)}]);
    let two = serde_json::json!([one[0], one[0]]);
    let docker_type = crate::oci::DOCKER_MANIFEST;
    let d1 = fake.put_manifest("app", "d1", docker_type, &docker(one.clone(), docker_type));
    let d2 = fake.put_manifest("app", "d2", OCI_MANIFEST, &docker(two, OCI_MANIFEST));
    let d3 = fake.put_manifest("app", "d3", OCI_INDEX, &docker(one, OCI_INDEX));
    let f = fetch(&r, &image, &d1, is_bundle).await.unwrap().unwrap();
    assert_eq!(f.bytes, layer);
    assert_eq!(f.artifact_type.as_deref(), Some(BUNDLE));
    // two layers; an index
    assert!(fetch(&r, &image, &d2, is_bundle).await.unwrap().is_none());
    assert!(fetch(&r, &image, &d3, is_bundle).await.unwrap().is_none());
}

/// Puts in front of `fake` an answer to the first `times` referrer-manifest `PUT`s (by digest, with a
/// `subject`); returns when each `PUT` of a referrer manifest came.
fn refusing(fake: &Memory, times: usize, answer: Answer) -> Arc<Mutex<Vec<Instant>>> {
    let puts = Arc::new(Mutex::new(Vec::new()));
    let seen = puts.clone();
    fake.intercept(move |req: &Request| {
        if req.method != "PUT" || !req.target.contains("/manifests/sha256:") {
            return None;
        }
        let mut puts = seen.lock().unwrap();
        puts.push(Instant::now());
        (puts.len() <= times).then(|| answer.clone().into())
    });
    puts
}

#[tokio::test]
async fn an_unknown_blob_is_pushed_again_after_a_growing_wait_at_most_blob_unknown_tries_times() {
    for api in [true, false] {
        let fake = Memory::start_with(Options {
            referrers_api: api,
            ..Options::default()
        });
        let (image, subject) = pushed_image(&fake);
        let puts = refusing(&fake, 2, error(400, "MANIFEST_BLOB_UNKNOWN"));
        attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1"))
            .await
            .unwrap();
        let at = puts.lock().unwrap().clone();
        assert_eq!(at.len(), 3);
        // BLOB_UNKNOWN_BACKOFF, then twice that (lower bounds: a sleep never ends early)
        assert!(at[1] - at[0] >= BLOB_UNKNOWN_BACKOFF);
        assert!(at[2] - at[1] >= BLOB_UNKNOWN_BACKOFF * 2);
    }
    // refused more often than BLOB_UNKNOWN_TRIES: the registry's error, after exactly that many
    let fake = Memory::start();
    let (image, subject) = pushed_image(&fake);
    let puts = refusing(&fake, 7, error(400, "DIGEST_INVALID"));
    let e = attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap_err();
    assert!(e.is_blob_unknown(), "{e}");
    assert_eq!(puts.lock().unwrap().len(), BLOB_UNKNOWN_TRIES as usize);
}

#[tokio::test]
async fn a_refused_subject_is_its_own_error_and_other_failures_are_the_registrys() {
    let fake = Memory::start();
    let (image, subject) = pushed_image(&fake);
    let puts = refusing(&fake, 3, error(400, "MANIFEST_INVALID"));
    let e = attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, OciError::SubjectRefused { reference, .. } if *reference == image.with_digest(&subject.digest).to_string()),
        "{e}"
    );
    assert_eq!(puts.lock().unwrap().len(), 1);
    assert_eq!(tag_index(&fake, &subject), None);
    // not a 4xx refusal (501 is not retried): the registry's error as it is
    let fake = Memory::start();
    let (image, subject) = pushed_image(&fake);
    refusing(&fake, 3, error(501, "UNSUPPORTED"));
    let e = attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap_err();
    assert!(matches!(e, OciError::Registry { status: 501, .. }), "{e}");
}

#[tokio::test]
async fn an_index_write_the_registry_drops_is_lost_and_names_the_referrer() {
    let fake = Memory::start();
    let (image, subject) = pushed_image(&fake);
    let tag = subject.digest.replacen(':', "-", 1);
    let t = tag.clone();
    // each write of the index answered 201 and forgotten, more times than MAX_WRITES (then kept)
    let mut dropped = 0;
    fake.intercept(move |req: &Request| {
        (req.method == "PUT"
            && req.target.ends_with(&format!("/manifests/{t}"))
            && dropped <= rmw::MAX_WRITES)
            .then(|| {
                dropped += 1;
                Answer::new(201, "").into()
            })
    });
    let e = attach(&registry(), &image, &subject, &artifact(BUNDLE, "b1"))
        .await
        .unwrap_err();
    // the referrer manifest, the one pushed by digest
    let ours = fake
        .requests()
        .iter()
        .find_map(|l| l.strip_prefix("PUT /v2/app/manifests/sha256:"))
        .map(|hex| format!("sha256:{hex}"))
        .unwrap();
    let index = image.with_tag(&tag).to_string();
    assert!(
        matches!(&e, OciError::Lost { reference, missing, attempts: rmw::MAX_WRITES }
            if *reference == index && *missing == [ours.clone()]),
        "{e}"
    );
}
