#![doc = include_str!("../README.md")]

pub mod clock;
mod conditions;
mod global;
mod identity;
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
pub use conditions::condition;
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
    pub use crate::conditions::enter_scope;
    pub use crate::global::enabled;
    pub use crate::indicator::{Indicator, SiteIndicators};
    pub use crate::site::SiteSpec;
    pub use crate::wire::Kind;
}

/// The Rust section of the repository's README.md compiles as written.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod root_readme {}
