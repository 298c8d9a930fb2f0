//! What a `#[chart]` call site hands the publisher: a static description of the site, written
//! by the macro, and the per-call `record` that queues the charted value.

use std::path::Path;

use crate::global;
use crate::indicator::{Indicator, SiteIndicators};
use crate::value::Chartable;
use crate::wire::Kind;

/// One `#[chart]` site, built by the macro as a `static` (so a call costs no allocation).
pub struct SiteSpec {
    /// The function's name.
    pub name: &'static str,
    /// An explicit series id (`name = "..."`), else `Type.method` or the function name.
    pub id: Option<&'static str>,
    pub kind: Option<Kind>,
    pub pane: &'static str,
    pub title: Option<&'static str>,
    pub color: Option<&'static str>,
    /// lightweight-charts options as JSON object text, checked by the macro.
    pub options: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub manifest_dir: &'static str,
    pub indicators: &'static [Indicator],
    /// Their running state, updated at call time.
    pub indicator_state: SiteIndicators,
    /// Whether the value itself is charted (always, unless only indicators were asked for).
    pub raw: bool,
}

impl SiteSpec {
    /// Queues `value` at time `t`; returns at once whatever Redis is doing.
    #[inline]
    pub fn record<T: Chartable + ?Sized>(&'static self, owner: Option<fn() -> &'static str>, t: i64, value: &T) {
        if let Some(point) = value.to_point() {
            global::with_current(|p| p.send_site(self, owner, t, point));
        }
    }

    /// The series id: explicit, else `Owner.name` for methods (as Python's qualnames), else the
    /// function name. Generic arguments and the module path are left out of the owner.
    pub(crate) fn series_id(&self, owner: Option<fn() -> &'static str>) -> String {
        if let Some(id) = self.id {
            return id.to_owned();
        }
        match owner.map(|type_name| type_name()) {
            Some(full) => {
                let path = full.split('<').next().unwrap_or(full);
                let short = path.rsplit("::").next().unwrap_or(path);
                format!("{short}.{}", self.name)
            }
            None => self.name.to_owned(),
        }
    }
}

/// The absolute path of a source file named by `file!()`, for the editor to open. `file!()` is
/// relative to the directory cargo ran rustc in (the workspace root), which a binary does not
/// know: the first ancestor of the crate's manifest directory that holds the file is that root.
/// A binary run where its sources are not keeps the relative path. See [`crate::source!`].
pub fn source_file(file: &str, manifest_dir: &str) -> String {
    let path = Path::new(file);
    if path.is_absolute() {
        return file.to_owned();
    }
    Path::new(manifest_dir)
        .ancestors()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.is_file())
        .map_or_else(|| file.to_owned(), |p| p.to_string_lossy().into_owned())
}
