//! The run `#[chart]` sites write to. `start` installs it; sites find it through a per-thread
//! cache, so a call costs a thread-local read and one atomic load, not a lock.

use std::cell::RefCell;
use std::ops::Deref;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Once, RwLock};

use crate::publisher::{Config, Publisher};
use crate::wire::Code;

const UNKNOWN: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static ENABLED: AtomicU8 = AtomicU8::new(UNKNOWN);
static CURRENT: RwLock<Option<Arc<Publisher>>> = RwLock::new(None);
/// Bumped by every install; 0 means nothing was ever installed.
static GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static CACHED: RefCell<(u64, Option<Arc<Publisher>>)> = const { RefCell::new((0, None)) };
}

/// Whether charting is on: `CHARTBRIDGE=off` in the environment or `set_enabled(false)` turn
/// every `#[chart]` into a call that costs one atomic load.
#[inline]
pub fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let off = std::env::var("CHARTBRIDGE").is_ok_and(|v| v.eq_ignore_ascii_case("off"));
            set_enabled(!off);
            !off
        }
    }
}

pub fn set_enabled(on: bool) {
    ENABLED.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// A started run; dereferences to its [`Publisher`]. Dropping it flushes and ends the run.
pub struct Run(Arc<Publisher>);

impl Deref for Run {
    type Target = Publisher;

    fn deref(&self) -> &Publisher {
        &self.0
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let mut current = CURRENT.write().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|p| Arc::ptr_eq(p, &self.0)) {
            *current = None;
            GENERATION.fetch_add(1, Ordering::Release);
        }
        drop(current);
        self.0.close();
    }
}

/// Starts a run and makes it the one `#[chart]` sites write to (replacing any other).
pub fn start(config: Config) -> Result<Run, Code> {
    let publisher = Arc::new(Publisher::start(config)?);
    install(Arc::clone(&publisher));
    Ok(Run(publisher))
}

fn install(publisher: Arc<Publisher>) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(publisher);
    GENERATION.fetch_add(1, Ordering::Release);
}

/// A `#[chart]` used before any `start` starts a run named after the executable, configured from
/// the environment. It is never closed: a strategy that wants its last points and an `ended`
/// status calls `start` and keeps the `Run` until the end.
fn auto_start() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let exe = std::env::current_exe().ok();
        let strategy = exe.as_deref().and_then(|p| p.file_stem()).map_or("rust".into(), |s| s.to_string_lossy());
        match Publisher::start(Config::new(&strategy)) {
            Ok(publisher) if GENERATION.load(Ordering::Acquire) == 0 => install(Arc::new(publisher)),
            Ok(_) => {}
            Err(code) => eprintln!("chartbridge: cannot start a run from the environment ({code})"),
        }
    });
}

/// Runs `f` with the current run's publisher, if charting is on and a run exists.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Publisher) -> R) -> Option<R> {
    if !enabled() {
        return None;
    }
    let mut generation = GENERATION.load(Ordering::Acquire);
    if generation == 0 {
        auto_start();
        generation = GENERATION.load(Ordering::Acquire);
    }
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != generation {
            let current = CURRENT.read().unwrap_or_else(|e| e.into_inner());
            *cached = (generation, current.clone());
        }
        cached.1.as_deref().map(f)
    })
}
