//! Chartbridge for Rust: chart what a strategy computes, live, in VS Code.
//!
//! Mark a function with [`chart`] and every call's return value is charted (or an argument,
//! with `arg = name`). Points go into a bounded per-thread queue; a background thread writes them to Redis
//! Streams in wire format v1 (`protocol/SPEC.md`), batched per series. Redis being down never
//! blocks or panics the strategy: the worker keeps a bounded backlog, counts what it drops, and
//! resends without duplicates when Redis is back.
//!
//! ```no_run
//! use chartbridge::{chart, Config};
//!
//! struct EmaCross { fast: f64 }
//!
//! impl EmaCross {
//!     #[chart(pane = "main", color = "#2962ff")]
//!     fn fast(&mut self, price: f64) -> f64 {
//!         self.fast += 0.1 * (price - self.fast);
//!         self.fast
//!     }
//! }
//!
//! let run = chartbridge::start(Config::new("EmaCross")).unwrap();
//! let mut strategy = EmaCross { fast: 0.0 };
//! strategy.fast(1.0);
//! drop(run); // flushes and marks the run ended
//! ```

pub mod clock;
mod global;
pub mod indicator;
mod keys;
mod lane;
mod link;
pub mod names;
#[cfg(feature = "nautilus")]
mod nautilus;
mod publisher;
mod site;
mod value;
pub mod wire;
mod worker;

pub use chartbridge_macros::chart;
pub use clock::{TsEvent, clear_clock, set_clock};
pub use global::{Run, enabled, set_enabled, start};
pub use link::Tls;
pub use publisher::{Config, Publisher, Series, SeriesSpec, SeriesStats, Source, Stats};
pub use site::source_file;
pub use value::{Chartable, Number};
pub use wire::{Candle, Code, Kind, Marker, MarkerShape, Point, Position, Side};

/// The absolute path of the current source file (for `Config::source` or `SeriesSpec::source`).
#[macro_export]
macro_rules! source {
    () => {
        $crate::source_file(::core::file!(), ::core::env!("CARGO_MANIFEST_DIR"))
    };
}

/// What `#[chart]` expands to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::clock::{ArgTime, HasTime, NoTime, now_or};
    pub use crate::global::enabled;
    pub use crate::indicator::{Indicator, SiteIndicators};
    pub use crate::site::SiteSpec;
    pub use crate::wire::Kind;
}
