//! The worker slot a manifest's signing holds while it talks to the registry, given back while it only
//! waits out a settling window (issue 15).
//!
//! A run signs `max_workers` manifests at a time ([`crate::ops::sign_image`]); each holds one permit of
//! the run's semaphore. After a `.sig` or referrers-index `PUT`, [`super::rmw::update`] sleeps a
//! settling window (100 ms to seconds) before its re-read: that sleep needs no slot, so [`settle`] gives
//! the permit back before it, and the next manifest starts meanwhile. Without that, a batch on a
//! registry that answers fast is bound by `max_workers` windows at a time, not by the registry (measured
//! in bench/RESULTS.md: 100 images on go-containerregistry's registry took 1.8 s at 8 workers and 0.8 s
//! at 64). The permit is not taken again after the window: what follows is the re-read (one `GET`) and,
//! only when a concurrent writer erased something, a repair, so at most `max_workers` manifests are
//! uploading and writing at any moment, besides the re-reads of those whose window ended.
//!
//! The slot travels with the operation as a task-local value ([`held`]), so the layouts below need no
//! parameter for it; outside [`held`] (other commands, tests) [`settle`] is a plain sleep.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

tokio::task_local! {
    /// The permit of the operation being polled (`None` once given back).
    static SLOT: Cell<Option<OwnedSemaphorePermit>>;
}

/// Runs `work` holding `permit` (one of the run's worker slots; `None`: none to give back). The permit
/// is released when `work` ends, or earlier by the first [`settle`] inside it.
pub(crate) async fn held<F: Future>(permit: Option<OwnedSemaphorePermit>, work: F) -> F::Output {
    SLOT.scope(Cell::new(permit), work).await
}

/// Waits `window` (a settling window) after giving back the worker slot that the operation being
/// polled holds ([`held`]), if any.
pub(crate) async fn settle(window: Duration) {
    // Outside `held` there is no slot (try_with fails): only the sleep.
    let _ = SLOT.try_with(|slot| drop(slot.take()));
    tokio::time::sleep(window).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    #[tokio::test]
    async fn settle_gives_the_slot_back_before_the_window_and_held_releases_it_at_the_end() {
        let slots = Arc::new(Semaphore::new(1));
        let permit = slots.clone().acquire_owned().await.ok();
        assert_eq!(slots.available_permits(), 0);
        let inner = slots.clone();
        held(permit, async move {
            assert_eq!(inner.available_permits(), 0, "held while working");
            settle(Duration::from_millis(1)).await;
            assert_eq!(inner.available_permits(), 1, "given back by the window");
            // a second window has nothing more to give back
            settle(Duration::from_millis(1)).await;
            assert_eq!(inner.available_permits(), 1);
        })
        .await;
        assert_eq!(slots.available_permits(), 1);
        let permit = slots.clone().acquire_owned().await.ok();
        held(permit, async {}).await;
        assert_eq!(
            slots.available_permits(),
            1,
            "released at the end without a window"
        );
        // outside `held`: only a sleep
        settle(Duration::from_millis(1)).await;
        assert_eq!(slots.available_permits(), 1);
    }
}
