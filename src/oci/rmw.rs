//! The read-modify-write of a shared, mutable manifest under a tag: a `.sig` manifest (one layer per
//! signature) or a referrers tag-schema index (one entry per referrer). Registries have no conditional
//! writes (`If-Match` is not in the distribution spec, and Debian's docker-registry ignores it), so
//! writers that read the same version and write back each their own addition overwrite each other.
//!
//! ## The protocol
//! 1. Read the tag. A `404` before anything was seen is confirmed by a second read (a transient `404`
//!    of a manifest that exists must not be taken as "none yet": the write would erase it). Any other
//!    read failure is an error, and nothing is written. The first read may be made early (while the
//!    signature is being made: [`update`]'s `earlier`); the write is always built on a read made right
//!    before it (the confirming read, or a fresh one), never on an early one
//!    (`tests/it/hostile_cases.rs` `a_signature_added_while_ours_was_being_made_is_kept`).
//! 2. Every entry ever read during the operation joins the `seen` set; the write is the current
//!    manifest's entries, then every seen entry it lacks, then ours. So a `404` after something was
//!    seen, or a concurrent writer's stale copy, never makes us drop what we saw.
//! 3. After the `PUT`, wait a settling window, then read again; if anything seen (or ours) is missing,
//!    write again (step 2), at most [`MAX_WRITES`] times; if it is still missing then, fail with
//!    [`OciError::Lost`] naming it (exit 1 at the edge) rather than report success.
//!
//! ## Why the window, and why it is enough
//! A write that can still erase ours is one whose writer read the tag before our `PUT` landed and has
//! not written yet. Every blob a write names is uploaded before the read it is built on (the payload
//! and a first signature's config while the signature is made, by [`super::layout::prepare`]; the
//! bundle's layer and manifest before the index's read, [`super::referrers::commit`]), so a writer
//! following this protocol does nothing between that read and its `PUT` but build the JSON: its
//! read-to-write time is one read and one `PUT` on the same registry, about ours. A re-read
//! [`SETTLE_FACTOR`] times our own read-to-write time after our `PUT` (at least [`SETTLE_MIN`], at
//! most [`SETTLE_MAX`]) therefore comes after any such write, and catches and repairs it. The factor
//! covers the spread of round trips; the floor covers a writer on a busy machine whose process is not
//! scheduled between its read's answer and its `PUT` (a 2-core runner shared by 16 signers gives each
//! a few milliseconds every few tens of milliseconds), which matters where round trips are shorter
//! than that (loopback, a registry in the same data centre); at 20 ms of round-trip time the factor
//! alone gives about 150 ms. That floor was 250 ms while a write was built on a read made before the
//! config upload (a read, two blob requests and a `PUT`: twice the requests a writer now makes in
//! that time). An immediate re-read would prove nothing: the stale write lands after it. No case of
//! this layout makes the wait provably unnecessary: even when the tag did not exist before, a second
//! writer that read the same `404` writes a manifest without our entry. The window is per operation
//! and spent in `tokio::time::sleep`, so the waits of images signed concurrently overlap, and so do
//! those of the two layouts of one image.
//!
//! ## Why the factor is 3: a concurrent cosign
//! Count at the registry, in round trips (RT) of our own latency. A stale write is dangerous when its
//! writer's read was served before our `PUT` landed (at time P) and its `PUT` lands after our re-read is
//! served. Our re-read is served at P + RT/2 (our `PUT`'s answer travelling back) + the window + RT/2
//! (the re-read travelling out), so a window W covers a writer whose read-to-write span at the registry,
//! D, is at most W + RT. Our own D is one confirming `GET` answered and one `PUT` sent: about 1 RT, which
//! any window covers. cosign v2.6.5 (`pkg/oci/remote/write.go` `WriteSignatures`: it reads the `.sig`,
//! then `remote.Write` pings `/v2/`, sends `HEAD` for the manifest, then for the blobs, uploads them with
//! `POST`, `PATCH` and `PUT`, and finally `PUT`s the manifest; the access log in bench/RESULTS.md shows
//! this order) has D = 7 RT, which needs W ≥ 6 RT. Our read-to-write time, measured from sending the
//! confirming `GET` to the `PUT`'s answer, is 2 RT, so 3 × 2 RT is the smallest whole factor that covers a
//! cosign v2 signing the same image at our own latency. A smaller factor would make one image faster (the
//! window is most of what one image costs beyond cosign v2's time, bench/RESULTS.md) by leaving our
//! signature to chance whenever a cosign v2 signs the same image at the same moment.
//!
//! ## What each request is for, and why none of them can go (issue 15)
//! A first entry costs, besides the blobs and the one `PUT`, three reads: the first `GET` (404), the
//! confirming `GET` (404), and the re-read after the window. Each is needed for "no entry is ever lost",
//! and each has a test that goes red without it:
//! - the confirming read: a transient `404` of a tag that holds others' entries would otherwise make us
//!   write a manifest holding only ours, erasing entries we never saw; the re-read after our `PUT` cannot
//!   repair that (it shows what we wrote). `tests/it/hostile_cases.rs`
//!   `one_transient_404_on_the_sig_manifest_on_sign`.
//! - the re-read after the window: without a conditional `PUT`, two writers that read the same version
//!   each write their own addition and the later `PUT` erases the earlier one; only the writer whose
//!   entry was erased can notice, by reading after the other's `PUT` has landed. A writer that never reads
//!   after its own `PUT` cannot know, so every writer needs one read after its `PUT` (and it must come
//!   after the stale write could land: the window). `tests/it/batch.rs` (16 processes, both layouts),
//!   `hostile_cases.rs` `sixteen_concurrent_signers_five_rounds` and `slow_sig_put_landing_after_the_others`,
//!   `bundle.rs` `eight_parallel_bundle_signers_all_land`.
//! - the first read: it cannot be the confirming read's partner made later (two reads right before
//!   the write, one after it: the same three), and dropping it leaves one `404` to trust.
//!
//! What is done about their cost instead: the first read is made while the signature is made (the key
//! decrypted, Fulcio and Rekor asked), beside the blob uploads, so it is off the critical path; the
//! confirming read is the base of the write, made right before it (for the referrers index, side by side
//! with the referrer manifest's `PUT`), so it costs at most one round trip; the window is spent in
//! `tokio::time::sleep`, so the windows of images signed concurrently, and of the two layouts of one
//! image, overlap.
//!
//! ## A write that stalls
//! A manifest request has a deadline ([`super::registry::MANIFEST_DEADLINE`]). A `PUT` of ours that
//! gets no answer in time has an unknown outcome: it may still land later (a proxy holding it) with
//! the older set of entries. The writer then starts over once (step 1, with everything it saw; a second
//! stalled `PUT` is an error), and keeps
//! re-reading every [`LIMBO_POLL`] until two deadlines after that `PUT` was sent, repairing whatever
//! the late landing erased.
//!
//! ## The limit of a layout without conditional writes
//! A write by another client that is held past its own deadline and past our window (a proxy that
//! keeps a request after its client gave up, a writer that does not follow this protocol) can still
//! land after every careful writer has finished and erase their entries; nobody is left to repair it.
//! The bound is the other writers' window. The referrers API avoids the problem altogether:
//! each signature is its own manifest, pushed by digest, and the registry keeps the list
//! ([`super::referrers`]).

use super::registry::Registry;
use super::{ImageRef, OciError};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// The most writes one operation makes before it gives up ([`OciError::Lost`]).
pub(crate) const MAX_WRITES: u32 = 12;
/// The settling window is this many times our own read-to-write time.
pub(crate) const SETTLE_FACTOR: u32 = 3;
/// The shortest settling window (covers a concurrent writer slowed down by a busy machine; see the
/// module documentation).
pub(crate) const SETTLE_MIN: Duration = Duration::from_millis(100);
/// The longest settling window.
pub(crate) const SETTLE_MAX: Duration = Duration::from_secs(5);
/// How often the manifest is re-read while one of our own writes may still land.
pub(crate) const LIMBO_POLL: Duration = Duration::from_secs(1);

/// A manifest made of a list of entries that writers add to.
pub(crate) trait Doc: Sized + Send + Sync {
    /// One entry (a layer or an index entry).
    type Entry: Clone + Send + Sync;
    /// Parses the manifest read from `tag`.
    fn parse(bytes: &[u8], media_type: &str, tag: &ImageRef) -> Result<Self, OciError>;
    /// Its entries, in order.
    fn entries(&self) -> &[Self::Entry];
    /// Whether two entries are the same one.
    fn same(a: &Self::Entry, b: &Self::Entry) -> bool;
    /// The entry's digest, for messages.
    fn id(e: &Self::Entry) -> String;
}

/// A boxed future (the builder of the new manifest uploads blobs).
pub(crate) type Build<'a> =
    Pin<Box<dyn Future<Output = Result<(Vec<u8>, String), OciError>> + Send + 'a>>;

/// What [`update`] did.
#[derive(Debug, Clone)]
pub(crate) struct Updated {
    /// false when the entry was there already (nothing written)
    pub(crate) added: bool,
    /// entries in the manifest at the end
    pub(crate) entries: usize,
}

/// Reads `tag`: `None` on 404.
pub(crate) async fn read<D: Doc>(
    registry: &Registry,
    tag: &ImageRef,
) -> Result<Option<D>, OciError> {
    match registry.get_manifest(tag).await? {
        None => Ok(None),
        Some(m) => D::parse(&m.bytes, &m.media_type, tag).map(Some),
    }
}

/// One read of a tag made by the caller of [`update`].
#[derive(Debug)]
pub(crate) struct Read<D> {
    /// what it found (`None`: 404)
    pub(crate) doc: Option<D>,
    /// when it was sent
    pub(crate) at: Instant,
}

impl<D: Doc> Read<D> {
    /// Reads `tag` now.
    pub(crate) async fn now(registry: &Registry, tag: &ImageRef) -> Result<Self, OciError> {
        let at = Instant::now();
        Ok(Read {
            doc: read::<D>(registry, tag).await?,
            at,
        })
    }
}

/// Adds `ours` to the manifest at `tag` by the protocol of the module documentation.
///
/// `earlier`: a read the caller made some time before (e.g. while the signature was being made):
/// what it found joins the seen entries, a `404` counts as the first of the two, and when it already
/// holds our entry nothing is written; it is never the base of a write (it may be old: a write built
/// on it could erase what was added since, after the other writers' windows). `fresh`: a read the
/// caller made just now, side by side with its last step (e.g. the referrer manifest's `PUT`): it is
/// the base of the first write. Without `fresh`, the base is read here. `present` says whether a
/// manifest already holds our entry (then nothing is written); `build` makes the bytes and media type
/// of the manifest to write from the current one and the entries.
pub(crate) async fn update<'a, D: Doc + 'a>(
    registry: &'a Registry,
    tag: &ImageRef,
    earlier: Option<Read<D>>,
    fresh: Option<Read<D>>,
    ours: D::Entry,
    present: impl Fn(&D) -> bool,
    build: impl Fn(Option<&D>, Vec<D::Entry>) -> Build<'a>,
) -> Result<Updated, OciError> {
    let mut seen: Vec<D::Entry> = Vec::new();
    let mut writes = 0u32;
    // A 404 read before: the next 404 confirms it.
    let mut confirmed = false;
    match earlier.map(|r| r.doc) {
        Some(None) => confirmed = true,
        Some(Some(doc)) => {
            if present(&doc) {
                return Ok(Updated {
                    added: false,
                    entries: doc.entries().len(),
                });
            }
            seen = doc.entries().to_vec();
        }
        None => {}
    }
    // A write of ours whose answer never came (deadline passed) may still land, with an older set of
    // entries: until it no longer can, we keep re-reading and repairing.
    let mut limbo_until: Option<Instant> = None;
    let mut first = fresh.map(|r| (r.doc, r.at));
    loop {
        let (current, mut started) = if let Some(read) = first.take() {
            read
        } else {
            let started = Instant::now();
            (read::<D>(registry, tag).await?, started)
        };
        // The manifest to write when the confirming read also says 404 (built beside that read).
        let mut prebuilt = None;
        if current.is_none() && seen.is_empty() && writes == 0 && !confirmed {
            confirmed = true;
            // The confirming read, and side by side the manifest we write if it is confirmed: only
            // ours (its blobs are uploaded meanwhile; if the read finds a manifest after all, they are
            // simply not referenced).
            started = Instant::now();
            let (again, built) =
                tokio::join!(read::<D>(registry, tag), build(None, vec![ours.clone()]));
            match again? {
                Some(found) => {
                    first = Some((Some(found), started));
                    continue;
                }
                None => prebuilt = Some(built?),
            }
        }
        if let Some(c) = &current {
            for e in c.entries() {
                if !seen.iter().any(|s| D::same(s, e)) {
                    seen.push(e.clone());
                }
            }
            if writes == 0 && present(c) {
                return Ok(Updated {
                    added: false,
                    entries: c.entries().len(),
                });
            }
        }
        let have: &[D::Entry] = current.as_ref().map_or(&[], |c| c.entries());
        let mut missing: Vec<D::Entry> = seen
            .iter()
            .filter(|s| !have.iter().any(|h| D::same(h, s)))
            .cloned()
            .collect();
        if !have.iter().any(|h| D::same(h, &ours)) && !missing.iter().any(|m| D::same(m, &ours)) {
            missing.push(ours.clone());
        }
        if missing.is_empty() && writes > 0 {
            if let Some(until) = limbo_until.filter(|u| *u > Instant::now()) {
                tokio::time::sleep(LIMBO_POLL.min(until - Instant::now())).await;
                continue;
            }
            return Ok(Updated {
                added: true,
                entries: have.len(),
            });
        }
        if writes >= MAX_WRITES {
            return Err(OciError::Lost {
                reference: tag.to_string(),
                missing: missing.iter().map(D::id).collect(),
                attempts: writes,
            });
        }
        let mut entries = have.to_vec();
        entries.extend(missing);
        // With `prebuilt`, nothing was read but 404s: `entries` is only ours, as it was built.
        let (bytes, media_type) = match prebuilt.take() {
            Some(built) => built,
            None => build(current.as_ref(), entries).await?,
        };
        let put_started = Instant::now();
        writes += 1;
        match registry.put_manifest(tag, &bytes, &media_type).await {
            Ok(_) => {}
            // A concurrent upload of the same config blob had not settled: read, build (which
            // pushes the blob again) and write again.
            Err(e) if e.is_blob_unknown() && writes < MAX_WRITES => continue,
            Err(OciError::TimedOut { .. }) if writes < MAX_WRITES && limbo_until.is_none() => {
                // Unknown outcome: it may land any time within another deadline (a proxy may still
                // hold it); watch that long.
                limbo_until = Some(put_started + 2 * super::registry::MANIFEST_DEADLINE);
                continue;
            }
            Err(e) => return Err(e),
        }
        let window = (started.elapsed() * SETTLE_FACTOR).clamp(SETTLE_MIN, SETTLE_MAX);
        // Without the worker slot: the next manifest of the run starts meanwhile (super::slot).
        super::slot::settle(window).await;
    }
}

#[cfg(test)]
mod loopback;
