//! The ledger: the open store, the writer thread that appends to it, and the
//! durable head position that readers and subscribers follow.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::rejection::{Rejection, internal};
use crate::store::chain::{Chain, Digest};
use crate::store::database::Store;
use crate::store::error::StoreError;
use crate::store::idempotency::Known;
use crate::store::journal::{Acknowledged, Journal};
use crate::store::proof::{self, Damage};
use crate::store::writer::{self, AppendBatch, Job, Reply};

/// How many batches may wait for the writer before appends wait to queue.
const QUEUE: usize = 4096;

pub struct Ledger {
    store: Arc<Store>,
    chain: Arc<Mutex<Chain>>,
    failure: watch::Receiver<Option<String>>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    head: watch::Receiver<u64>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Ledger {
    /// Opens the store (recovering it after a crash), proves its log whole
    /// against the record of what was acknowledged, and starts the writer.
    /// A store that cannot be proved whole is not opened: the error names
    /// the first missing or damaged position and the way back.
    /// Blocking: call it from a blocking context.
    pub fn open(dir: &Path, cache_capacity: u64) -> Result<Self, StoreError> {
        let refuse = |damage: &dyn std::fmt::Display| {
            StoreError::Damaged(format!(
                "the store in {} cannot be proved whole: {damage}. Nothing is served from it. Restore the latest \
                 backup into a new directory (`disclosure-ledger restore BACKUP --data-dir NEW`) and serve that, \
                 or copy what is intact into a new directory (`disclosure-ledger salvage --data-dir {} --into \
                 NEW`), which says exactly what was lost; keep this directory for inspection",
                dir.display(),
                dir.display()
            ))
        };
        // sled releases a closed instance's file lock from its own threads,
        // a moment after the drop (this process's previous instance, or the
        // proving one below): wait for it, up to 10 s.
        let open = || {
            let released = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                match open_store(dir, cache_capacity) {
                    Err(e) if crate::store::database::lock_busy(&e) && std::time::Instant::now() < released => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(StoreError::Damaged(why)) => return Err(refuse(&why)),
                    Err(StoreError::DamagedCommitLog(why)) => return Err(refuse(&format!("commit log {why}"))),
                    opened => return opened,
                }
            }
        };
        std::fs::create_dir_all(dir)?;
        // The proof reads the whole log, and sled keeps what it reads; so it
        // reads through an instance of its own, closed before the one that
        // serves is opened (nothing writes in between). The journal is read
        // while that instance holds sled's lock on the directory, so no
        // other process is writing it.
        let (mut journal, records, chain) = {
            let proving = open()?;
            let (journal, records) = Journal::open(dir)?;
            let chain = proof::prove(&proving, &records, None).map_err(|damage| refuse(&damage))?;
            (journal, records, chain)
        };
        let store = Arc::new(open()?);
        let (last, digest) = chain.head();
        if records.is_empty() && last > 0 {
            tracing::warn!(
                head = last,
                "no record of what was acknowledged (a store written before it was kept): proved gapless and \
                 readable, and recorded from here on"
            );
        }
        journal.append(Acknowledged { position: last, digest })?;
        journal.sync()?;
        for loss in store.losses()? {
            tracing::warn!(first = loss.first, last = loss.last, "{loss}");
        }
        tracing::info!(head = last, digest = %digest, "log proved whole");
        let chain = Arc::new(Mutex::new(chain));
        let (head_tx, head) = watch::channel(last);
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer_store = Arc::clone(&store);
        let writer_chain = Arc::clone(&chain);
        let (failure_tx, failure) = watch::channel(None);
        let writer = std::thread::Builder::new().name("ledger-writer".into()).spawn(move || {
            // The id index is read by the writer itself, while the service
            // already answers reads: on a cold start it is most of the
            // opening time (a million-event store's id runs are scattered
            // through sled's file). Appends wait in the queue meanwhile;
            // none is answered without the complete index.
            match Known::load(&writer_store) {
                Ok(known) => {
                    // sled 0.34 panics on some I/O failures (a full disk among
                    // them) instead of returning them: a writer that panics
                    // has failed like one whose sync failed.
                    let failure = failure_tx.clone();
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                        writer::run(writer_store, known, rx, head_tx, journal, writer_chain, failure_tx)
                    }));
                    if let Err(panic) = ran {
                        let why = panic_message(panic.as_ref());
                        tracing::error!(error = %why, "the writer panicked; the service stops");
                        failure.send_replace(Some(format!(
                            "the store failed to write ({why}); the service is stopping so that a restart recovers it"
                        )));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the idempotency index; refusing appends until restart");
                    writer::refuse_all(
                        rx,
                        format!("the store's idempotency index cannot be read ({e}); restart the service"),
                    );
                }
            }
        })?;
        Ok(Self { store, chain, failure, jobs: Mutex::new(Some(tx)), head, writer: Mutex::new(Some(writer)) })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Set once a write or sync has failed (with why): the writer has
    /// stopped, and the service must stop so that a restart recovers what
    /// the disk really holds.
    pub fn failure(&self) -> watch::Receiver<Option<String>> {
        self.failure.clone()
    }

    /// The durable head and the log's digest at it.
    pub fn digest(&self) -> (u64, Digest) {
        let _consistent = self.store.consistent();
        self.chain.lock().expect("lock").head()
    }

    /// The log's digest at `position` (at most the head). Blocking.
    pub fn digest_at(&self, position: u64) -> Result<Digest, StoreError> {
        let checkpoint = self.chain.lock().expect("lock").checkpoint(position);
        proof::digest_at(&self.store, checkpoint, position)
    }

    /// Proves the log whole again, up to the current head, against the
    /// digest the writer chained as it wrote: what `verify` runs. Blocking.
    pub fn prove(&self) -> Result<(u64, Digest), Damage> {
        let (head, digest) = self.digest();
        let chain = proof::prove(&self.store, &[Acknowledged { position: head, digest }], Some(head))?;
        Ok(chain.head())
    }

    /// The last durable position.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// A receiver that sees each new durable head.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    /// Waits until `position` is durable (it was written by a group that is
    /// committing now), so that reads never show what may still be lost.
    /// Gives up after a few seconds: a group that does not become durable
    /// by then has failed, and the writer refuses appends until restart.
    pub async fn wait_durable(&self, position: u64) -> Result<(), Rejection> {
        let mut head = self.head.clone();
        match tokio::time::timeout(std::time::Duration::from_secs(5), head.wait_for(|h| *h >= position)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Rejection::Unavailable(format!("position {position} is not durable; the store may have failed"))),
        }
    }

    /// Appends a batch; answers once it is durable, or refused.
    pub async fn append(&self, batch: AppendBatch) -> Reply {
        match self.submit(batch).await {
            Ok(answer) => answer.await,
            Err(rejection) => Err(rejection),
        }
    }

    /// Queues a batch behind those queued before it and returns its answer
    /// to come: batches submitted one after another are applied in order.
    pub async fn submit(&self, batch: AppendBatch) -> Result<impl Future<Output = Reply> + use<>, Rejection> {
        let sender = self.jobs.lock().expect("lock").clone();
        let Some(sender) = sender else {
            return Err(Rejection::Unavailable("the service is shutting down".into()));
        };
        let (reply, answer) = oneshot::channel();
        if sender.send(Job { batch, reply }).await.is_err() {
            return Err(Rejection::Unavailable("the writer has stopped".into()));
        }
        Ok(async move { answer.await.unwrap_or_else(|_| Err(Rejection::Unavailable("the writer has stopped".into()))) })
    }

    /// Stops taking appends, lets the writer finish what is queued, and
    /// syncs. Blocking.
    pub fn close(&self) {
        drop(self.jobs.lock().expect("lock").take());
        if let Some(writer) = self.writer.lock().expect("lock").take()
            && writer.join().is_err()
        {
            tracing::error!("the writer thread panicked");
        }
    }
}

/// Opens the store in `dir` as [`Store::open`] does, with sled's failures
/// to read a damaged file (a corruption error, or a panic: sled 0.34 may
/// panic instead of reporting it) as [`StoreError::Damaged`].
pub fn open_store(dir: &Path, cache_capacity: u64) -> Result<Store, StoreError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Store::open(dir, cache_capacity))) {
        Ok(Ok(store)) => Ok(store),
        Ok(Err(StoreError::Sled(e @ sled::Error::Corruption { .. }))) => {
            Err(StoreError::Damaged(format!("sled cannot read its file ({e}); no log position can be trusted")))
        }
        Ok(Err(e)) => Err(e),
        Err(panic) => {
            let why = panic_message(panic.as_ref());
            Err(StoreError::Damaged(format!("sled failed reading its file ({why}); no log position can be trusted")))
        }
    }
}

/// What a caught panic said.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// The ledger as the services see it: set once the store is open and
/// recovered; until then every use answers UNAVAILABLE.
#[derive(Clone, Default)]
pub struct OpeningLedger(Arc<tokio::sync::OnceCell<Arc<Ledger>>>);

impl OpeningLedger {
    /// Makes the opened ledger available (once).
    pub fn set(&self, ledger: Ledger) {
        let _ = self.0.set(Arc::new(ledger));
    }

    /// The ledger, if it is open.
    pub fn opened(&self) -> Option<Arc<Ledger>> {
        self.0.get().cloned()
    }

    /// The ledger, or UNAVAILABLE while the store is still opening.
    pub fn get(&self) -> Result<Arc<Ledger>, Rejection> {
        self.opened().ok_or_else(|| Rejection::Unavailable("the store is still opening; retry shortly".into()))
    }

    /// The store, or UNAVAILABLE while it is still opening.
    pub fn store(&self) -> Result<Arc<Store>, Rejection> {
        self.get().map(|l| Arc::clone(l.store()))
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.close();
    }
}
/// Runs blocking store reads off the async runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Rejection> + Send + 'static,
) -> Result<T, Rejection> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}
