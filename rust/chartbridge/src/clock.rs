//! The time of a point, in SPEC order: the clock an integration sets, else the event time of an
//! argument (`TsEvent`), else the wall clock.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    // Per thread because a backtest engine drives one thread: two backtests running in one
    // process each chart their own simulated time.
    static CLOCK: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Sets the integration clock of this thread (ns since the epoch): backtests chart simulated time.
pub fn set_clock(ns: i64) {
    CLOCK.with(|c| c.set(Some(ns)));
}

/// Clears the integration clock of this thread; points fall back to arguments or the wall clock.
pub fn clear_clock() {
    CLOCK.with(|c| c.set(None));
}

/// The integration clock of this thread, if one is set.
pub fn clock() -> Option<i64> {
    CLOCK.with(Cell::get)
}

/// Wall-clock time in ns since the epoch.
pub fn wall_clock() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// The time of a point with no explicit time: the clock if set, else `from_args`, else the wall.
#[inline]
pub fn now_or(from_args: impl FnOnce() -> Option<i64>) -> i64 {
    clock().or_else(from_args).unwrap_or_else(wall_clock)
}

/// Implemented by event types that carry their own time (a bar, a tick, a fill) in ns since the
/// epoch, like Nautilus's `ts_event`. A `#[chart]` function taking such an argument charts at it.
pub trait TsEvent {
    fn ts_event(&self) -> u64;
}

impl<T: TsEvent + ?Sized> TsEvent for &T {
    fn ts_event(&self) -> u64 {
        (**self).ts_event()
    }
}

impl<T: TsEvent + ?Sized> TsEvent for &mut T {
    fn ts_event(&self) -> u64 {
        (**self).ts_event()
    }
}

/// Lets generated code ask "does this argument have an event time?" without knowing its type:
/// `(&ArgTime(&arg)).ts()` picks `HasTime` when the type implements `TsEvent` and falls back to
/// `NoTime` (one auto-reference further away) when it does not.
pub struct ArgTime<'a, T: ?Sized>(pub &'a T);

pub trait HasTime {
    fn ts(&self) -> Option<i64>;
}

impl<T: TsEvent + ?Sized> HasTime for ArgTime<'_, T> {
    #[inline]
    fn ts(&self) -> Option<i64> {
        // Beyond i64 is beyond the SPEC's time range anyway: the point is refused with E_TIME.
        Some(i64::try_from(self.0.ts_event()).unwrap_or(i64::MAX))
    }
}

pub trait NoTime {
    fn ts(&self) -> Option<i64>;
}

impl<T: ?Sized> NoTime for &ArgTime<'_, T> {
    #[inline]
    fn ts(&self) -> Option<i64> {
        None
    }
}
