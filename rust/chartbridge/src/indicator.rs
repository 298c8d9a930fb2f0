//! Indicators a `#[chart(ema = 20)]` site computes from the charted value, O(1) per point, with
//! the Python SDK's definitions so both languages chart the same line for the same inputs.

use std::collections::VecDeque;

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
        let window = |n: u32| Window { period: n as usize, values: VecDeque::new(), sum: 0.0 };
        match self {
            Indicator::Ema(n) => State::Ema { alpha: 2.0 / (f64::from(n) + 1.0), value: None, seed: window(n) },
            Indicator::Sma(n) => State::Sma(window(n)),
        }
    }
}

/// The last `period` inputs and their sum.
pub struct Window {
    period: usize,
    values: VecDeque<f64>,
    sum: f64,
}

impl Window {
    /// Adds `x`; the mean once the window is full.
    fn push(&mut self, x: f64) -> Option<f64> {
        self.values.push_back(x);
        self.sum += x;
        if self.values.len() > self.period {
            self.sum -= self.values.pop_front().unwrap_or(0.0);
        }
        (self.values.len() == self.period).then(|| self.sum / self.period as f64)
    }
}

/// Running state of one indicator.
pub enum State {
    /// alpha = 2 / (period + 1), seeded with the mean of the first `period` inputs.
    Ema { alpha: f64, value: Option<f64>, seed: Window },
    Sma(Window),
}

impl State {
    /// Feeds one input; the indicator's value once it has seen `period` inputs.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        match self {
            State::Ema { alpha, value: Some(v), .. } => {
                *v += *alpha * (x - *v);
                Some(*v)
            }
            State::Ema { value, seed, .. } => {
                *value = seed.push(x);
                *value
            }
            State::Sma(window) => window.push(x),
        }
    }
}
