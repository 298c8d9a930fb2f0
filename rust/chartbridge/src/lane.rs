//! Per-thread queues from the strategy's threads to the worker. A call locks only its own
//! thread's lane (uncontended: the worker takes it once per flush interval), so charting costs
//! no cross-core wake-up per point, and one thread's messages stay in call order.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::worker::Msg;

/// One producer thread's queue for one publisher.
struct Lane {
    queue: Mutex<Vec<Msg>>,
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
}

thread_local! {
    /// This thread's lanes, by publisher id (a thread rarely feeds more than one publisher).
    static MINE: RefCell<Vec<(u64, Arc<Lane>)>> = const { RefCell::new(Vec::new()) };
}

impl Lanes {
    pub(crate) fn new(cap: usize) -> Lanes {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Lanes { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), cap: cap.max(1), lanes: Mutex::new(Vec::new()) }
    }

    /// Queues `msg` on the calling thread's lane; false if that lane is full.
    #[inline]
    pub(crate) fn push(&self, msg: Msg) -> bool {
        MINE.with(|mine| {
            let mut mine = mine.borrow_mut();
            let index = match mine.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    mine.retain(|(_, lane)| !lane.closed.load(Ordering::Relaxed));
                    let lane = Arc::new(Lane { queue: Mutex::new(Vec::new()), spare: Mutex::new(Vec::new()), closed: AtomicBool::new(false) });
                    lock(&self.lanes).push(Arc::clone(&lane));
                    mine.push((self.id, lane));
                    mine.len() - 1
                }
            };
            let lane = &mine[index].1;
            let mut queue = lock(&lane.queue);
            if queue.len() >= self.cap || lane.closed.load(Ordering::Relaxed) {
                return false;
            }
            queue.push(msg);
            true
        })
    }

    /// Takes everything queued so far, thread by thread, each thread's messages in order.
    pub(crate) fn drain(&self, mut each: impl FnMut(Msg)) {
        let lanes: Vec<Arc<Lane>> = lock(&self.lanes).clone();
        for lane in &lanes {
            let mut spare = lock(&lane.spare);
            let mut msgs = std::mem::replace(&mut *lock(&lane.queue), std::mem::take(&mut *spare));
            msgs.drain(..).for_each(&mut each);
            *spare = msgs;
        }
        drop(lanes);
        // A lane only this list holds belongs to a thread that exited; it was drained above.
        lock(&self.lanes).retain(|lane| Arc::strong_count(lane) > 1 || !lock(&lane.queue).is_empty());
    }

    /// Marks every lane closed, so threads drop them on their next lookup.
    pub(crate) fn close(&self) {
        lock(&self.lanes).iter().for_each(|lane| lane.closed.store(true, Ordering::Relaxed));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lane lock cannot leave a Vec half-pushed; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
