//! [`update`] against a registry in memory on loopback ([`crate::oci::memory`]), with a manifest of
//! names: what it reads and writes, in which order, and what it repairs (issue 16's mutation run: each
//! test fails with mutants of this file). tests/it/hostile_cases.rs, registry.rs, batch.rs and
//! bundle.rs drive the same code through both layouts against the real registry.
//!
//! The tests of a write that stalls past [`super::super::registry::MANIFEST_DEADLINE`] (`stalled`)
//! last about 30 s each; scripts/mutants.sh leaves them out of stage 1 but for the lines they judge.

use super::*;
use crate::net::loopback::{Answer, Request};
use crate::oci::memory::{error, Memory, Reply};
use crate::oci::{RegistryOptions, OCI_INDEX};
use std::sync::{Arc, Mutex};

/// A manifest whose entries are names.
#[derive(Debug)]
struct Names(Vec<String>);

impl Doc for Names {
    type Entry = String;
    fn parse(bytes: &[u8], _media_type: &str, tag: &ImageRef) -> Result<Self, OciError> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
                what: "the names",
                reference: tag.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Names(
            v["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e.as_str().unwrap().to_string())
                .collect(),
        ))
    }
    fn entries(&self) -> &[String] {
        &self.0
    }
    fn same(a: &String, b: &String) -> bool {
        a == b
    }
    fn id(e: &String) -> String {
        e.clone()
    }
}

fn bytes(names: &[&str]) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "entries": names}),
    )
    .unwrap()
}

/// A fake registry whose tag `app:names` holds `names` (none: no such tag), and the tag.
fn holding(names: Option<&[&str]>) -> (Memory, ImageRef) {
    let fake = Memory::start();
    if let Some(n) = names {
        fake.put_manifest("app", "names", OCI_INDEX, &bytes(n));
    }
    let tag = fake.image("app:names");
    (fake, tag)
}

/// What the tag holds now.
fn names(fake: &Memory) -> Vec<String> {
    let (_, bytes) = fake.manifest("app", "names").unwrap();
    let tag: ImageRef = "x/y:z".parse().unwrap();
    Names::parse(&bytes, OCI_INDEX, &tag).unwrap().0
}

/// The requests for the tag, `METHOD` only, in order.
fn tag_requests(fake: &Memory) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|l| l.ends_with("/manifests/names"))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

/// [`update`] adding `ours` to `tag`, after `earlier` if given.
async fn add(tag: &ImageRef, earlier: Option<Read<Names>>) -> Result<Updated, OciError> {
    let registry = Registry::new(RegistryOptions::default())
        .unwrap()
        .for_image(true);
    update::<Names>(
        &registry,
        tag,
        earlier,
        None,
        "ours".to_string(),
        |d: &Names| d.0.iter().any(|n| n == "ours"),
        |_: Option<&Names>, entries: Vec<String>| -> Build<'_> {
            Box::pin(async move {
                let e: Vec<&str> = entries.iter().map(String::as_str).collect();
                Ok((bytes(&e), OCI_INDEX.to_string()))
            })
        },
    )
    .await
}

#[tokio::test]
async fn a_first_entry_is_written_after_two_404s_and_read_back_after_the_window() {
    let (fake, tag) = holding(None);
    let u = add(&tag, None).await.unwrap();
    assert!(u.added);
    assert_eq!(u.entries, 1);
    assert_eq!(names(&fake), ["ours"]);
    assert_eq!(tag_requests(&fake), ["GET", "GET", "PUT", "GET"]);
    // a 404 read earlier is the first of the two
    let (fake, tag) = holding(None);
    let earlier = Read {
        doc: None,
        at: Instant::now(),
    };
    add(&tag, Some(earlier)).await.unwrap();
    assert_eq!(tag_requests(&fake), ["GET", "PUT", "GET"]);
}

#[tokio::test]
async fn an_existing_manifest_is_read_once_and_kept_and_ours_is_written_once() {
    let (fake, tag) = holding(Some(&["a", "b"]));
    let u = add(&tag, None).await.unwrap();
    assert!(u.added);
    assert_eq!(u.entries, 3);
    assert_eq!(names(&fake), ["a", "b", "ours"]);
    assert_eq!(tag_requests(&fake), ["GET", "PUT", "GET"]);
    // there already: nothing written
    let (fake, tag) = holding(Some(&["a", "ours"]));
    let u = add(&tag, None).await.unwrap();
    assert!(!u.added);
    assert_eq!(u.entries, 2);
    assert_eq!(tag_requests(&fake), ["GET"]);
    // an earlier read that holds it: nothing read
    let (fake, tag) = holding(Some(&["a", "ours"]));
    let earlier = Read {
        doc: Some(Names(vec!["ours".into()])),
        at: Instant::now(),
    };
    let u = add(&tag, Some(earlier)).await.unwrap();
    assert!(!u.added);
    assert!(tag_requests(&fake).is_empty());
}

/// Puts in front of `fake` the answer to the `n`th `PUT` (from 1) that `reply(n)` gives, if any.
fn on_put(fake: &Memory, reply: impl Fn(usize) -> Option<Reply> + Send + 'static) {
    let mut n = 0;
    fake.intercept(move |req: &Request| {
        if req.method != "PUT" {
            return None;
        }
        n += 1;
        reply(n)
    });
}

/// Puts in front of `fake`: the `n`th write of the tag (from 1) is followed at once by `then` (what
/// a writer that read before it puts); `then` of the write and the current entries.
fn after_write(fake: &Memory, n: usize, then: impl Fn(&[String]) -> Vec<String> + Send + 'static) {
    let mut writes = 0;
    let registry = fake.clone();
    fake.intercept(move |req: &Request| {
        if req.method != "PUT" || !req.target.ends_with("/manifests/names") {
            return None;
        }
        writes += 1;
        if writes != n {
            return None;
        }
        let written =
            Names::parse(&req.body, OCI_INDEX, &"x/y:z".parse::<ImageRef>().unwrap()).unwrap();
        let after = then(&written.0);
        let after: Vec<&str> = after.iter().map(String::as_str).collect();
        registry.put_manifest("app", "names", OCI_INDEX, &bytes(&after));
        Some(Answer::new(201, "").into())
    });
}

#[tokio::test]
async fn entries_a_stale_write_erased_are_written_back_with_ours() {
    // read: [a]; right after our write, another writer's stale copy lands: [b]
    let (fake, tag) = holding(Some(&["a"]));
    after_write(&fake, 1, |_| vec!["b".into()]);
    let u = add(&tag, None).await.unwrap();
    assert!(u.added);
    assert_eq!(names(&fake), ["b", "a", "ours"]);
    assert_eq!(u.entries, 3);
    assert_eq!(tag_requests(&fake), ["GET", "PUT", "GET", "PUT", "GET"]);
    // what the earlier read saw counts too
    let (fake, tag) = holding(Some(&["a"]));
    let earlier = Read {
        doc: Some(Names(vec!["x".into()])),
        at: Instant::now(),
    };
    add(&tag, Some(earlier)).await.unwrap();
    assert_eq!(names(&fake), ["a", "x", "ours"]);
}

#[tokio::test]
async fn a_write_refused_for_an_unknown_blob_is_made_again_and_other_refusals_end_it() {
    let refuse = |fake: &Memory, times: usize, status: u16, code: &'static str| {
        on_put(fake, move |n| {
            (n <= times).then(|| error(status, code).into())
        });
    };
    let (fake, tag) = holding(Some(&["a"]));
    refuse(&fake, 1, 400, "MANIFEST_BLOB_UNKNOWN");
    add(&tag, None).await.unwrap();
    assert_eq!(names(&fake), ["a", "ours"]);
    assert_eq!(tag_requests(&fake), ["GET", "PUT", "GET", "PUT", "GET"]);
    // more often than MAX_WRITES: the registry's error after MAX_WRITES writes
    let (fake, tag) = holding(Some(&["a"]));
    refuse(&fake, MAX_WRITES as usize + 1, 400, "MANIFEST_BLOB_UNKNOWN");
    let e = add(&tag, None).await.unwrap_err();
    assert!(e.is_blob_unknown(), "{e}");
    let puts = tag_requests(&fake).iter().filter(|m| *m == "PUT").count();
    assert_eq!(puts, MAX_WRITES as usize);
    // another refusal: at once
    let (fake, tag) = holding(Some(&["a"]));
    refuse(&fake, 1, 400, "MANIFEST_INVALID");
    let e = add(&tag, None).await.unwrap_err();
    assert!(matches!(e, OciError::Registry { status: 400, .. }), "{e}");
    assert_eq!(tag_requests(&fake), ["GET", "PUT"]);
}

#[tokio::test]
async fn writes_that_never_stay_end_in_lost_after_max_writes() {
    // each write answered 201 and dropped (MAX_WRITES + 1 times, then kept)
    let (fake, tag) = holding(Some(&["a"]));
    on_put(&fake, |n| {
        (n <= MAX_WRITES as usize + 1).then(|| Answer::new(201, "").into())
    });
    let e = add(&tag, None).await.unwrap_err();
    let OciError::Lost {
        reference,
        missing,
        attempts,
    } = e
    else {
        panic!("not lost: {e}");
    };
    assert_eq!(reference, tag.to_string());
    assert_eq!(missing, ["ours"]);
    assert_eq!(attempts, MAX_WRITES);
    assert_eq!(names(&fake), ["a"]);
}

#[tokio::test]
async fn the_window_before_the_read_back_is_settle_factor_times_the_read_to_write_time() {
    // every read of the tag answered 300 ms late: the read-to-write time is at least that
    let (fake, tag) = holding(Some(&["a"]));
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let slow = Duration::from_millis(300);
    let registry = fake.clone();
    fake.intercept(move |req: &Request| {
        if !req.target.ends_with("/manifests/names") {
            return None;
        }
        t.lock().unwrap().push((req.method.clone(), Instant::now()));
        if req.method != "GET" {
            return None;
        }
        let (media_type, bytes) = registry.manifest("app", "names").unwrap();
        Some(Reply {
            answer: Answer::new(200, bytes).with("Content-Type", &media_type),
            after: slow,
        })
    });
    add(&tag, None).await.unwrap();
    let times = times.lock().unwrap().clone();
    let methods: Vec<_> = times.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["GET", "PUT", "GET"]);
    // a lower bound: the window is a sleep, which never ends early
    assert!(times[2].1 - times[1].1 >= slow * SETTLE_FACTOR);
}

#[tokio::test]
async fn a_concurrent_cosign_v2_at_our_latency_cannot_erase_ours() {
    // Every request of the tag is applied when it comes and answered one round trip (RT) later. A
    // cosign v2 signing the same image read the tag just before our PUT landed; it writes what it read
    // plus its own signature after its chain of requests (ping, HEAD manifest, HEAD blobs, POST,
    // PATCH, PUT blobs: 6.5 RT here, a little under the 7 RT of the module documentation so that the
    // test's own timers have room). The window (SETTLE_FACTOR times our read-to-write time of 2 RT)
    // must end after that stale write has landed, so that our re-read sees and repairs it.
    const RT: Duration = Duration::from_millis(150);
    let (fake, tag) = holding(Some(&["a"]));
    let registry = fake.clone();
    let stale: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let writer = stale.clone();
    fake.intercept(move |req: &Request| {
        if !req.target.ends_with("/manifests/names") {
            return None;
        }
        let answer = match req.method.as_str() {
            "GET" => match registry.manifest("app", "names") {
                Some((media_type, bytes)) => {
                    Answer::new(200, bytes).with("Content-Type", &media_type)
                }
                None => error(404, "MANIFEST_UNKNOWN"),
            },
            "PUT" => {
                let mut w = writer.lock().unwrap();
                if w.is_none() {
                    // cosign's read, served right before our PUT lands
                    let mut view = names(&registry);
                    view.push("cosign".into());
                    let r = registry.clone();
                    *w = Some(std::thread::spawn(move || {
                        std::thread::sleep(RT * 13 / 2);
                        let v: Vec<&str> = view.iter().map(String::as_str).collect();
                        r.put_manifest("app", "names", OCI_INDEX, &bytes(&v));
                    }));
                }
                registry.put_manifest("app", "names", OCI_INDEX, &req.body);
                Answer::new(201, "")
            }
            _ => return None,
        };
        Some(Reply { answer, after: RT })
    });
    add(&tag, None).await.unwrap();
    let cosign = stale.lock().unwrap().take().unwrap();
    cosign.join().unwrap();
    assert_eq!(names(&fake), ["a", "cosign", "ours"]);
    assert_eq!(tag_requests(&fake), ["GET", "PUT", "GET", "PUT", "GET"]);
}

/// A write that gets no answer within the manifest deadline (15 s).
mod stalled {
    use super::*;
    use crate::oci::registry::MANIFEST_DEADLINE;

    /// A `201` sent 5 s after the client's deadline.
    fn stall() -> Reply {
        Reply {
            answer: Answer::new(201, ""),
            after: MANIFEST_DEADLINE + Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn a_stalled_write_that_lands_late_is_repaired_until_it_can_no_longer_land() {
        // [a]; our first write stalls, and lands after a writer added c (erasing c); our second
        // write (after the deadline) stays; we keep reading until the first can no longer land.
        let (fake, tag) = holding(Some(&["a"]));
        let writer = fake.clone();
        let mut writes = 0;
        let landed = Arc::new(Mutex::new(None));
        let l = landed.clone();
        fake.intercept(move |req: &Request| {
            if req.method != "PUT" {
                return None;
            }
            writes += 1;
            if writes != 1 {
                return None;
            }
            let body = req.body.clone();
            let writer = writer.clone();
            *l.lock().unwrap() = Some(std::thread::spawn(move || {
                std::thread::sleep(MANIFEST_DEADLINE + Duration::from_secs(2));
                let mut now = names(&writer);
                now.push("c".into());
                let now: Vec<&str> = now.iter().map(String::as_str).collect();
                writer.put_manifest("app", "names", OCI_INDEX, &bytes(&now));
                std::thread::sleep(Duration::from_secs(3));
                writer.put_manifest("app", "names", OCI_INDEX, &body);
            }));
            Some(stall())
        });
        let u = add(&tag, None).await.unwrap();
        assert!(u.added);
        let landing = landed.lock().unwrap().take().unwrap();
        landing.join().unwrap();
        assert_eq!(names(&fake), ["a", "ours", "c"]);
    }

    #[tokio::test]
    async fn a_stalled_last_write_is_an_error_not_one_write_more() {
        // MAX_WRITES - 1 writes answered and dropped, the last one stalls (and never lands)
        let (fake, tag) = holding(Some(&["a"]));
        on_put(&fake, |n| {
            Some(if n < MAX_WRITES as usize {
                Answer::new(201, "").into()
            } else {
                stall()
            })
        });
        let e = add(&tag, None).await.unwrap_err();
        assert!(matches!(e, OciError::TimedOut { .. }), "{e}");
        let puts = tag_requests(&fake).iter().filter(|m| *m == "PUT").count();
        assert_eq!(puts, MAX_WRITES as usize);
    }

    #[tokio::test]
    async fn a_second_stalled_write_is_an_error() {
        // the first two writes stall (and never land); a third would be refused
        let (fake, tag) = holding(Some(&["a"]));
        on_put(&fake, |n| {
            Some(if n <= 2 {
                stall()
            } else {
                error(400, "MANIFEST_INVALID").into()
            })
        });
        let e = add(&tag, None).await.unwrap_err();
        assert!(matches!(e, OciError::TimedOut { .. }), "{e}");
        assert_eq!(tag_requests(&fake), ["GET", "PUT", "GET", "PUT"]);
    }
}
