//! What `#[chart]` can chart: the `Chartable` trait turns a function's return value into a point.

use crate::wire::{Candle, Point};

/// A value that can be charted. Numbers become line points, `(open, high, low, close)` and
/// `(open, high, low, close, volume)` tuples become candles; `None` and `Err` chart nothing.
/// Implement it for your own types (a bar, a signal) to return them from `#[chart]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be charted by #[chart]",
    label = "this type does not implement `chartbridge::Chartable`",
    note = "return a number, an (open, high, low, close[, volume]) tuple, or implement `chartbridge::Chartable` for it"
)]
pub trait Chartable {
    fn to_point(&self) -> Option<Point>;
}

/// Plain numbers, widened to f64 (a chart has no use for more precision than f64 holds).
pub trait Number: Copy {
    fn to_f64(self) -> f64;
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl Number for $t {
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
        impl Chartable for $t {
            #[inline]
            fn to_point(&self) -> Option<Point> {
                Some(Point::Value(self.to_f64()))
            }
        }
    )*};
}

numbers!(f64, f32, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl<O: Number, H: Number, L: Number, C: Number> Chartable for (O, H, L, C) {
    fn to_point(&self) -> Option<Point> {
        let (o, h, l, c) = *self;
        Some(Point::Candle(Candle { open: o.to_f64(), high: h.to_f64(), low: l.to_f64(), close: c.to_f64(), volume: None }))
    }
}

impl<O: Number, H: Number, L: Number, C: Number, V: Number> Chartable for (O, H, L, C, V) {
    fn to_point(&self) -> Option<Point> {
        let (o, h, l, c, v) = *self;
        (o, h, l, c).to_point().map(|p| match p {
            Point::Candle(candle) => Point::Candle(Candle { volume: Some(v.to_f64()), ..candle }),
            other => other,
        })
    }
}

impl Chartable for Candle {
    fn to_point(&self) -> Option<Point> {
        Some(Point::Candle(*self))
    }
}

impl<T: Chartable + ?Sized> Chartable for &T {
    fn to_point(&self) -> Option<Point> {
        (**self).to_point()
    }
}

impl<T: Chartable + ?Sized> Chartable for &mut T {
    fn to_point(&self) -> Option<Point> {
        (**self).to_point()
    }
}

impl<T: Chartable> Chartable for Option<T> {
    fn to_point(&self) -> Option<Point> {
        self.as_ref().and_then(Chartable::to_point)
    }
}

/// `Result`-returning handlers (such as Nautilus's `on_bar`) chart their `Ok` value.
impl<T: Chartable, E> Chartable for Result<T, E> {
    fn to_point(&self) -> Option<Point> {
        self.as_ref().ok().and_then(Chartable::to_point)
    }
}
