//! With the `nautilus` feature, NautilusTrader's data charts as itself: a `Bar` is a candle, a
//! quote its mid price, a trade its price, each at its `ts_event`. (A strategy crate cannot add
//! these impls itself: both the traits and the types are foreign to it.)

use nautilus_model::data::{Bar, QuoteTick, TradeTick};

use crate::clock::TsEvent;
use crate::value::Chartable;
use crate::wire::{Candle, Point};

impl TsEvent for Bar {
    fn ts_event(&self) -> u64 {
        self.ts_event.as_u64()
    }
}

impl TsEvent for QuoteTick {
    fn ts_event(&self) -> u64 {
        self.ts_event.as_u64()
    }
}

impl TsEvent for TradeTick {
    fn ts_event(&self) -> u64 {
        self.ts_event.as_u64()
    }
}

impl Chartable for Bar {
    fn to_point(&self) -> Option<Point> {
        Some(Point::Candle(Candle {
            open: self.open.as_f64(),
            high: self.high.as_f64(),
            low: self.low.as_f64(),
            close: self.close.as_f64(),
            volume: Some(self.volume.as_f64()),
        }))
    }
}

impl Chartable for QuoteTick {
    fn to_point(&self) -> Option<Point> {
        Some(Point::Value((self.bid_price.as_f64() + self.ask_price.as_f64()) / 2.0))
    }
}

impl Chartable for TradeTick {
    fn to_point(&self) -> Option<Point> {
        Some(Point::Value(self.price.as_f64()))
    }
}
