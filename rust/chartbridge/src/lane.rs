//! Per-thread queues from the strategy's threads to the worker. A call locks only its own
//! thread's lane (uncontended: the worker takes it once per flush interval, the whole queue at
//! once), so charting costs no cross-core wake-up per point, and one thread's messages stay in
//! call order.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::worker::Msg;

/// What one lane holds: the queued messages, and the point messages a full lane could not take,
/// one per target with how many were lost (so the worker counts them against their series).
#[derive(Default)]
struct Queue {
    msgs: Vec<Msg>,
    lost: Vec<(Msg, u64)>,
}

/// One producer thread's queue for one publisher.
struct Lane {
    queue: Mutex<Queue>,
    /// The worker's emptied previous queue, handed back so the caller pushes into memory that
    /// is already mapped (fresh pages cost a fault each; measured in the chart_call bench).
    spare: Mutex<Vec<Msg>>,
    /// Set when the publisher is gone, so threads forget the lane.
    closed: AtomicBool,
}

/// All lanes of one publisher, and the bound on each.
pub(crate) struct Lanes {
    id: u64,
    cap: usize,
    lanes: Mutex<Vec<Arc<Lane>>>,
    closed: AtomicBool,
}

thread_local! {
    /// This thread's lanes, by publisher id (a thread rarely feeds more than one publisher).
    static MINE: RefCell<Vec<(u64, Arc<Lane>)>> = const { RefCell::new(Vec::new()) };
}

impl Lanes {
    pub(crate) fn new(cap: usize) -> Lanes {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Lanes { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), cap: cap.max(1), lanes: Mutex::new(Vec::new()), closed: AtomicBool::new(false) }
    }

    /// Whether the publisher closed: nothing is taken any more.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Unique per publisher in this process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Runs `f` with the calling thread's lane, creating it on first use.
    #[inline]
    fn with_mine<R>(&self, f: impl FnOnce(&Lane) -> R) -> R {
        MINE.with(|mine| {
            let mut mine = mine.borrow_mut();
            let index = match mine.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    mine.retain(|(_, lane)| !lane.closed.load(Ordering::Relaxed));
                    let lane = Arc::new(Lane { queue: Mutex::default(), spare: Mutex::default(), closed: AtomicBool::new(false) });
                    lock(&self.lanes).push(Arc::clone(&lane));
                    mine.push((self.id, lane));
                    mine.len() - 1
                }
            };
            f(&mine[index].1)
        })
    }

    /// Queues `msg` on the calling thread's lane. A point message finding the lane full is
    /// handed back; other messages (registrations, run state) always go in.
    #[inline]
    pub(crate) fn push(&self, msg: Msg) -> Result<(), Msg> {
        self.with_mine(|lane| {
            let mut queue = lock(&lane.queue);
            if lane.closed.load(Ordering::Relaxed) || (queue.msgs.len() >= self.cap && msg.points() > 0) {
                return Err(msg);
            }
            queue.msgs.push(msg);
            Ok(())
        })
    }

    /// Records a point message a full lane could not take, for the worker to count.
    pub(crate) fn lose(&self, msg: Msg) {
        self.with_mine(|lane| {
            let mut queue = lock(&lane.queue);
            match queue.lost.iter_mut().find(|(seen, _)| seen.same_target(&msg)) {
                Some((_, n)) => *n += 1,
                None => queue.lost.push((msg, 1)),
            }
        });
    }

    /// Takes everything queued so far, thread by thread, each thread's messages in order, then
    /// what full lanes lost.
    pub(crate) fn drain(&self, mut each: impl FnMut(Msg), mut lost: impl FnMut(Msg, u64)) {
        let lanes: Vec<Arc<Lane>> = lock(&self.lanes).clone();
        let mut all_lost = Vec::new();
        for lane in &lanes {
            let mut spare = lock(&lane.spare);
            let (mut msgs, lane_lost) = {
                let mut queue = lock(&lane.queue);
                let msgs = std::mem::replace(&mut queue.msgs, std::mem::take(&mut *spare));
                (msgs, std::mem::take(&mut queue.lost))
            };
            msgs.drain(..).for_each(&mut each);
            *spare = msgs;
            all_lost.extend(lane_lost);
        }
        all_lost.into_iter().for_each(|(msg, n)| lost(msg, n));
        drop(lanes);
        // A lane only this list holds belongs to a thread that exited; it was drained above.
        lock(&self.lanes).retain(|lane| Arc::strong_count(lane) > 1 || !lock(&lane.queue).msgs.is_empty());
    }

    /// Marks every lane closed, so threads drop them on their next lookup.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        lock(&self.lanes).iter().for_each(|lane| lane.closed.store(true, Ordering::Relaxed));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lane lock cannot leave a Vec half-pushed; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
