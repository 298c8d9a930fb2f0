//! Indicators a `#[chart(ema = 20)]` site computes from the charted value, with the Python SDK's
//! definitions, which are Nautilus's (`ExponentialMovingAverage`, `SimpleMovingAverage`; see
//! python/README.md), so both languages chart the line a Nautilus strategy reads.

use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indicator {
    Ema(u32),
    Sma(u32),
}

impl Indicator {
    /// Appended to the site's series id: `mid` charts `mid.ema20`.
    pub fn suffix(self) -> String {
        match self {
            Indicator::Ema(n) => format!("ema{n}"),
            Indicator::Sma(n) => format!("sma{n}"),
        }
    }

    pub fn state(self) -> State {
        match self {
            Indicator::Ema(n) => State::Ema { alpha: 2.0 / (f64::from(n) + 1.0), value: 0.0, count: 0, period: n },
            Indicator::Sma(n) => State::Sma(Window { period: n as usize, values: VecDeque::new() }),
        }
    }
}

/// The last `period` inputs.
pub struct Window {
    period: usize,
    values: VecDeque<f64>,
}

impl Window {
    /// Adds `x`; once the window is full, its mean summed oldest first from 0.0 as Nautilus sums
    /// (a running sum would round differently).
    fn push(&mut self, x: f64) -> Option<f64> {
        self.values.push_back(x);
        if self.values.len() > self.period {
            self.values.pop_front();
        }
        (self.values.len() == self.period).then(|| self.values.iter().fold(0.0, |sum, v| sum + v) / self.period as f64)
    }
}

/// Running state of one indicator.
pub enum State {
    /// alpha = 2 / (period + 1); the first input seeds `value`, then every input (the first too)
    /// makes it `alpha * x + (1 - alpha) * value`.
    Ema { alpha: f64, value: f64, count: u32, period: u32 },
    Sma(Window),
}

impl State {
    /// Feeds one input; the indicator's value once it has seen `period` inputs.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        match self {
            State::Ema { alpha, value, count, period } => {
                if *count == 0 {
                    *value = x;
                }
                *value = *alpha * x + ((1.0 - *alpha) * *value);
                *count = count.saturating_add(1);
                (*count >= *period).then_some(*value)
            }
            State::Sma(window) => window.push(x),
        }
    }
}

/// The indicator state of one `#[chart]` site, kept where the site is called: every call's input
/// updates it before anything is queued, so a point lost on the way to Redis never changes a
/// value that arrives. One state per run and per owner type (a generic method's site is shared by
/// every type it is instantiated for).
pub struct SiteIndicators(Mutex<Vec<(u64, usize, Vec<State>)>>);

impl SiteIndicators {
    #[allow(clippy::new_without_default)] // built in a `static` by the macro: must be const
    pub const fn new() -> SiteIndicators {
        SiteIndicators(Mutex::new(Vec::new()))
    }

    /// Feeds `x` to every indicator of `run` and `owner`, calling `out(which, value)` for each
    /// indicator that has a value.
    pub(crate) fn update(&self, run: u64, owner: usize, indicators: &[Indicator], x: f64, mut out: impl FnMut(u16, f64)) {
        let mut states = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let index = match states.iter().position(|(r, o, _)| *r == run && *o == owner) {
            Some(index) => index,
            None => {
                // A new run starts its indicators afresh; older runs' states are of no more use.
                states.retain(|(r, _, _)| *r == run);
                states.push((run, owner, indicators.iter().map(|i| i.state()).collect()));
                states.len() - 1
            }
        };
        for (which, state) in states[index].2.iter_mut().enumerate() {
            if let Some(y) = state.update(x) {
                out(which as u16, y);
            }
        }
    }
}
