//! Why a signal did not fire: [`condition`] charts a named boolean per bar, as a `line` series of
//! role `condition` (protocol/SPEC.md section 5): 1 where it held, 0 where it did not.
//!
//! Inside a `#[chart]` function a condition belongs to that function: `#[chart]` enters a scope
//! for its body, so the condition's series id is `<function's series id>:<name>`, it targets that
//! series, and it takes the call's time (the integration clock, else a `TsEvent` argument: the
//! debug cursor's rule). Elsewhere its id is `conditions:<name>` at the clock, else the wall clock.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::Location;

use crate::clock;
use crate::global;
use crate::publisher::{Series, SeriesSpec};
use crate::site::{SiteSpec, source_file};
use crate::wire::Point;

type Owner = Option<fn() -> &'static str>;

/// The `#[chart]` call whose body runs on this thread.
#[derive(Clone, Copy)]
struct Scope {
    site: &'static SiteSpec,
    owner: Owner,
    t: i64,
}

/// Conditions made, per (run, site, owner), by name.
type Made = HashMap<(usize, usize, usize), HashMap<String, Series>>;

thread_local! {
    static SCOPE: Cell<Option<Scope>> = const { Cell::new(None) };
    /// (run, site, owner) -> name -> series: a condition registers once per run and scope.
    static MADE: RefCell<Made> = RefCell::new(HashMap::new());
}

/// Restores the enclosing scope when a `#[chart]` body ends (also by `return`, `?` or a panic).
pub struct ScopeGuard(Option<Scope>);

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.with(|s| s.set(self.0));
    }
}

/// What `#[chart]` calls before its body: conditions in it belong to `site` at time `t`.
pub fn enter_scope(site: &'static SiteSpec, owner: Owner, t: Option<i64>) -> Option<ScopeGuard> {
    t.map(|t| ScopeGuard(SCOPE.with(|s| s.replace(Some(Scope { site, owner, t })))))
}

/// The series id of characters outside `[A-Za-z0-9_.:/-]` made `_` (SPEC section 1), at most 200.
fn sanitized(text: &str) -> String {
    let id: String = text.chars().map(|c| if c.is_ascii_alphanumeric() || "_.:/-".contains(c) { c } else { '_' }).take(200).collect();
    if id.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') { id } else { format!("_{}", &id[..id.len().min(199)]) }
}

/// Records whether `name` held at this bar and returns `value`, so it reads inline:
///
/// ```no_run
/// # struct S { fast: f64, slow: f64, flat: bool }
/// # impl S {
/// /// 1 on a bar to buy; where it stays 0, the chart lists which condition did not hold.
/// #[chartbridge::chart(pane = "signal")]
/// fn entry(&self, close: f64) -> f64 {
///     let up = chartbridge::condition("fast above slow", self.fast > self.slow);
///     let flat = chartbridge::condition("flat", self.flat);
///     if up && flat && close > 0.0 { 1.0 } else { 0.0 }
/// }
/// # }
/// ```
///
/// Charting never fails the strategy: a time before the condition's last one is refused by the
/// publisher and counted, as every point is.
#[track_caller]
pub fn condition(name: &str, value: bool) -> bool {
    let caller = Location::caller();
    let scope = SCOPE.with(Cell::get);
    global::with_current(|publisher| {
        let t = scope.map_or_else(|| clock::now_or(|| None), |s| s.t);
        let key = (publisher.run_key(), scope.map_or(0, |s| s.site as *const SiteSpec as usize), scope.and_then(|s| s.owner).map_or(0, |f| f as usize));
        MADE.with(|made| {
            let mut made = made.borrow_mut();
            let named = made.entry(key).or_default();
            if !named.contains_key(name) {
                let owner = scope.map(|s| s.site.series_id(s.owner));
                let id = sanitized(&format!("{}:{name}", owner.as_deref().unwrap_or("conditions")));
                let manifest_dir = scope.map_or(env!("CARGO_MANIFEST_DIR"), |s| s.site.manifest_dir);
                let mut spec = SeriesSpec::condition(&id).title(name).source(&source_file(caller.file(), manifest_dir), caller.line());
                if let Some(owner) = &owner {
                    spec = spec.target(owner);
                }
                let Ok(series) = publisher.series(spec) else { return };
                named.insert(name.to_owned(), series);
            }
            if let Some(series) = named.get(name) {
                let _ = series.add_at(t, Point::Value(if value { 1.0 } else { 0.0 }));
            }
        });
    });
    value
}
