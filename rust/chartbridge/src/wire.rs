//! Point batches in wire format v1 (protocol/SPEC.md section 3): encoding, decoding and the
//! validation rules both share, so a producer can never write what a reader would reject.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value as Json;

/// Points per stream entry; a producer splits larger batches.
pub const MAX_POINTS: usize = 100_000;
/// Times are int64 ns in `[0, MAX_TIME)`, exact as integer microseconds in JSON numbers.
pub const MAX_TIME: i64 = (1 << 53) * 1000;
/// Longest marker text, in characters.
pub const MAX_MARKER_TEXT: usize = 1024;

/// The error codes of SPEC.md, plus `E_LIMIT` for the size limits the SPEC states without a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Name,
    Version,
    Kind,
    KindMismatch,
    Count,
    Field,
    Length,
    Time,
    Order,
    NonFinite,
    Candle,
    Marker,
    Limit,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Name => "E_NAME",
            Code::Version => "E_VERSION",
            Code::Kind => "E_KIND",
            Code::KindMismatch => "E_KIND_MISMATCH",
            Code::Count => "E_COUNT",
            Code::Field => "E_FIELD",
            Code::Length => "E_LENGTH",
            Code::Time => "E_TIME",
            Code::Order => "E_ORDER",
            Code::NonFinite => "E_NONFINITE",
            Code::Candle => "E_CANDLE",
            Code::Marker => "E_MARKER",
            Code::Limit => "E_LIMIT",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Code {}

/// The seven series kinds. Each kind fixes which columns an entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Line,
    Area,
    Baseline,
    Histogram,
    Candlestick,
    Bar,
    Marker,
}

/// The column layout shared by several kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Values,
    Candles,
    Markers,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Line,
        Kind::Area,
        Kind::Baseline,
        Kind::Histogram,
        Kind::Candlestick,
        Kind::Bar,
        Kind::Marker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Line => "line",
            Kind::Area => "area",
            Kind::Baseline => "baseline",
            Kind::Histogram => "histogram",
            Kind::Candlestick => "candlestick",
            Kind::Bar => "bar",
            Kind::Marker => "marker",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn shape(self) -> Shape {
        match self {
            Kind::Candlestick | Kind::Bar => Shape::Candles,
            Kind::Marker => Shape::Markers,
            _ => Shape::Values,
        }
    }
}

/// One OHLC point; `volume` is optional per entry (SPEC: the `vol` column).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candle {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: Option<f64>,
}

/// Which way a marker points; `None` in [`Marker::side`] is JSON `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerShape {
    ArrowUp,
    ArrowDown,
    Circle,
    Square,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    AboveBar,
    BelowBar,
    InBar,
    AtPriceTop,
    AtPriceBottom,
    AtPriceMiddle,
}

/// Maps an enum to its JSON spelling both ways, so encoding and decoding cannot disagree.
trait Spelled: Sized + Copy + PartialEq + 'static {
    const ALL: &'static [(Self, &'static str)];
    fn spell(self) -> &'static str {
        Self::ALL.iter().find(|(v, _)| *v == self).map(|(_, s)| *s).unwrap_or("")
    }
    fn read(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(v, _)| *v)
    }
}

impl Spelled for Side {
    const ALL: &'static [(Self, &'static str)] = &[(Side::Buy, "buy"), (Side::Sell, "sell")];
}

impl Spelled for MarkerShape {
    const ALL: &'static [(Self, &'static str)] = &[
        (MarkerShape::ArrowUp, "arrowUp"),
        (MarkerShape::ArrowDown, "arrowDown"),
        (MarkerShape::Circle, "circle"),
        (MarkerShape::Square, "square"),
    ];
}

impl Spelled for Position {
    const ALL: &'static [(Self, &'static str)] = &[
        (Position::AboveBar, "aboveBar"),
        (Position::BelowBar, "belowBar"),
        (Position::InBar, "inBar"),
        (Position::AtPriceTop, "atPriceTop"),
        (Position::AtPriceBottom, "atPriceBottom"),
        (Position::AtPriceMiddle, "atPriceMiddle"),
    ];
}

/// A marker object (SPEC section 3).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Marker {
    pub side: Option<Side>,
    pub text: String,
    pub shape: Option<MarkerShape>,
    pub position: Option<Position>,
    pub color: Option<String>,
}

impl Marker {
    pub fn new(side: Option<Side>, text: impl Into<String>) -> Marker {
        Marker { side, text: text.into(), ..Marker::default() }
    }

    /// Reads a marker object as decoded JSON; anything outside the rules is `E_MARKER`.
    /// Unknown keys are ignored, as readers ignore unknown entry fields.
    pub fn from_json(value: &Json) -> Result<Marker, Code> {
        let obj = value.as_object().ok_or(Code::Marker)?;
        let side = match obj.get("side").ok_or(Code::Marker)? {
            Json::Null => None,
            v => Some(read_spelled(v)?),
        };
        let text = obj.get("text").and_then(Json::as_str).ok_or(Code::Marker)?.to_owned();
        let optional = |key: &str| obj.get(key).filter(|v| !v.is_null());
        let marker = Marker {
            side,
            text,
            shape: optional("shape").map(read_spelled).transpose()?,
            position: optional("position").map(read_spelled).transpose()?,
            color: optional("color")
                .map(|v| v.as_str().map(str::to_owned).ok_or(Code::Marker))
                .transpose()?,
        };
        marker.check()?;
        Ok(marker)
    }

    /// The rules that the type system does not already enforce.
    pub fn check(&self) -> Result<(), Code> {
        let color_ok = self.color.as_deref().is_none_or(is_hex_color);
        if self.text.chars().count() > MAX_MARKER_TEXT || !color_ok {
            return Err(Code::Marker);
        }
        Ok(())
    }

    /// Compact JSON with keys in SPEC order (`side, text, shape, position, color`) and
    /// non-ASCII text as UTF-8, so every producer writes the same bytes.
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"side\":");
        match self.side {
            Some(side) => push_json_str(out, side.spell()),
            None => out.push_str("null"),
        }
        out.push_str(",\"text\":");
        push_json_str(out, &self.text);
        let optional = [
            ("shape", self.shape.map(Spelled::spell)),
            ("position", self.position.map(Spelled::spell)),
            ("color", self.color.as_deref()),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                out.push_str(",\"");
                out.push_str(key);
                out.push_str("\":");
                push_json_str(out, value);
            }
        }
        out.push('}');
    }
}

fn read_spelled<T: Spelled>(v: &Json) -> Result<T, Code> {
    v.as_str().and_then(T::read).ok_or(Code::Marker)
}

fn push_json_str(out: &mut String, s: &str) {
    // serde_json escapes only what JSON requires and keeps non-ASCII as UTF-8, as the SPEC asks.
    out.push_str(&Json::from(s).to_string());
}

fn is_hex_color(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit)
}

/// One point of any kind, as user code hands it over.
#[derive(Clone, Debug, PartialEq)]
pub enum Point {
    Value(f64),
    Candle(Candle),
    /// A marker and its price; a NaN price means "no price".
    Marker(f64, Marker),
}

/// The columns of one entry; which variant is fixed by the kind's [`Shape`].
#[derive(Clone, Debug, PartialEq)]
pub enum Columns {
    Values { y: Vec<f64> },
    Candles { o: Vec<f64>, h: Vec<f64>, l: Vec<f64>, c: Vec<f64>, vol: Option<Vec<f64>> },
    Markers { y: Vec<f64>, m: Vec<Marker> },
}

/// One entry's worth of points of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub kind: Kind,
    pub t: Vec<i64>,
    pub columns: Columns,
}

/// Redis fields of one entry: (name, value); binary columns are raw little-endian bytes.
pub type Fields = Vec<(&'static str, Vec<u8>)>;

impl Batch {
    /// An empty batch whose columns fit `kind`; `with_volume` only matters for candles.
    pub fn new(kind: Kind, with_volume: bool) -> Batch {
        let columns = match kind.shape() {
            Shape::Values => Columns::Values { y: Vec::new() },
            Shape::Candles => Columns::Candles {
                o: Vec::new(),
                h: Vec::new(),
                l: Vec::new(),
                c: Vec::new(),
                vol: with_volume.then(Vec::new),
            },
            Shape::Markers => Columns::Markers { y: Vec::new(), m: Vec::new() },
        };
        Batch { kind, t: Vec::new(), columns }
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// Whether `point` can join this batch: same shape and, for candles, the same
    /// presence of volume (an entry either has a `vol` column for every point or none).
    pub fn accepts(&self, point: &Point) -> bool {
        match (&self.columns, point) {
            (Columns::Values { .. }, Point::Value(_)) => true,
            (Columns::Candles { vol, .. }, Point::Candle(c)) => vol.is_some() == c.volume.is_some(),
            (Columns::Markers { .. }, Point::Marker(..)) => true,
            _ => false,
        }
    }

    /// Appends a point the caller has checked with [`check_point`] and [`Batch::accepts`].
    pub fn push(&mut self, t: i64, point: Point) {
        self.t.push(t);
        match (&mut self.columns, point) {
            (Columns::Values { y }, Point::Value(v)) => y.push(v),
            (Columns::Candles { o, h, l, c, vol }, Point::Candle(p)) => {
                o.push(p.open);
                h.push(p.high);
                l.push(p.low);
                c.push(p.close);
                if let (Some(vol), Some(v)) = (vol, p.volume) {
                    vol.push(v);
                }
            }
            (Columns::Markers { y, m }, Point::Marker(price, marker)) => {
                y.push(price);
                m.push(marker);
            }
            _ => unreachable!("Batch::push after Batch::accepts said no"),
        }
    }

    /// The entry's Redis fields, or the code of the first rule the batch breaks.
    pub fn encode(&self) -> Result<Fields, Code> {
        check_count(self.len())?;
        for column in self.float_columns() {
            if column.1.len() != self.len() {
                return Err(Code::Length);
            }
        }
        self.check()?;
        let mut fields: Fields = vec![
            ("v", b"1".to_vec()),
            ("k", self.kind.as_str().as_bytes().to_vec()),
            ("n", self.len().to_string().into_bytes()),
            ("t", self.t.iter().flat_map(|t| t.to_le_bytes()).collect()),
        ];
        for (name, column) in self.float_columns() {
            fields.push((name, column.iter().flat_map(|v| v.to_le_bytes()).collect()));
        }
        if let Columns::Markers { m, .. } = &self.columns {
            if m.len() != self.len() {
                return Err(Code::Marker);
            }
            let mut json = String::from("[");
            for (i, marker) in m.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                marker.write_json(&mut json);
            }
            json.push(']');
            fields.push(("m", json.into_bytes()));
        }
        Ok(fields)
    }

    /// Decodes an entry's fields, rejecting it with the first failing rule in SPEC order.
    /// `registered` is the kind in the series registry, when the reader knows it.
    pub fn decode(fields: &HashMap<String, Vec<u8>>, registered: Option<Kind>) -> Result<Batch, Code> {
        let text = |name: &str| fields.get(name).and_then(|v| std::str::from_utf8(v).ok());
        if text("v") != Some("1") {
            return Err(Code::Version);
        }
        let kind = text("k").and_then(Kind::parse).ok_or(Code::Kind)?;
        if registered.is_some_and(|r| r != kind) {
            return Err(Code::KindMismatch);
        }
        let n = text("n").and_then(parse_count).ok_or(Code::Count)?;
        let mut batch = Batch::new(kind, fields.contains_key("vol"));
        let required = batch.float_columns().into_iter().map(|(name, _)| name);
        let markers = (kind == Kind::Marker).then_some("m");
        if std::iter::once("t").chain(required).chain(markers).any(|name| !fields.contains_key(name)) {
            return Err(Code::Field);
        }
        batch.t = column(&fields["t"], n, i64::from_le_bytes)?;
        let floats = |name: &str| column(&fields[name], n, f64::from_le_bytes);
        batch.columns = match batch.columns {
            Columns::Values { .. } => Columns::Values { y: floats("y")? },
            Columns::Candles { vol, .. } => Columns::Candles {
                o: floats("o")?,
                h: floats("h")?,
                l: floats("l")?,
                c: floats("c")?,
                vol: vol.map(|_| floats("vol")).transpose()?,
            },
            // Markers are parsed after the numeric checks: E_MARKER comes last in SPEC order.
            Columns::Markers { .. } => Columns::Markers { y: floats("y")?, m: Vec::new() },
        };
        batch.check()?;
        if let Columns::Markers { m, .. } = &mut batch.columns {
            let parsed: Json = serde_json::from_slice(&fields["m"]).map_err(|_| Code::Marker)?;
            let items = parsed.as_array().filter(|a| a.len() == n).ok_or(Code::Marker)?;
            *m = items.iter().map(Marker::from_json).collect::<Result<_, _>>()?;
        }
        Ok(batch)
    }

    /// The float64 columns in field order, with their field names.
    fn float_columns(&self) -> Vec<(&'static str, &Vec<f64>)> {
        match &self.columns {
            Columns::Values { y } | Columns::Markers { y, .. } => vec![("y", y)],
            Columns::Candles { o, h, l, c, vol } => {
                let mut cols = vec![("o", o), ("h", h), ("l", l), ("c", c)];
                cols.extend(vol.as_ref().map(|v| ("vol", v)));
                cols
            }
        }
    }

    /// The value rules after the count and lengths: time, order, finiteness, candles, markers.
    fn check(&self) -> Result<(), Code> {
        self.t.iter().try_for_each(|&t| check_time(t))?;
        if self.t.windows(2).any(|w| w[1] < w[0]) {
            return Err(Code::Order);
        }
        match &self.columns {
            Columns::Values { y } => y.iter().try_for_each(|&v| check_finite(v)),
            Columns::Candles { o, h, l, c, vol } => {
                let all = [o, h, l, c].into_iter().chain(vol.as_ref()).flatten();
                all.into_iter().try_for_each(|&v| check_finite(v))?;
                (0..self.len()).try_for_each(|i| check_candle(o[i], h[i], l[i], c[i]))
            }
            Columns::Markers { y, m } => {
                y.iter().try_for_each(|&v| check_price(v))?;
                m.iter().try_for_each(Marker::check)
            }
        }
    }
}

fn check_count(n: usize) -> Result<(), Code> {
    if n == 0 || n > MAX_POINTS { Err(Code::Count) } else { Ok(()) }
}

/// Canonical ASCII decimal in `1..=MAX_POINTS`: no sign, no leading zero.
fn parse_count(s: &str) -> Option<usize> {
    let canonical = !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    let n = canonical.then(|| s.parse::<usize>().ok()).flatten()?;
    check_count(n).ok().map(|_| n)
}

fn column<T>(bytes: &[u8], n: usize, from: fn([u8; 8]) -> T) -> Result<Vec<T>, Code> {
    if bytes.len() != n * 8 {
        return Err(Code::Length);
    }
    Ok(bytes.chunks_exact(8).map(|b| from(b.try_into().expect("chunks of 8"))).collect())
}

pub fn check_time(t: i64) -> Result<(), Code> {
    if (0..MAX_TIME).contains(&t) { Ok(()) } else { Err(Code::Time) }
}

fn check_finite(v: f64) -> Result<(), Code> {
    if v.is_finite() { Ok(()) } else { Err(Code::NonFinite) }
}

/// A marker price may be NaN ("no price"), never infinite.
fn check_price(v: f64) -> Result<(), Code> {
    if v.is_infinite() { Err(Code::NonFinite) } else { Ok(()) }
}

fn check_candle(o: f64, h: f64, l: f64, c: f64) -> Result<(), Code> {
    if l > o.min(c) || h < o.max(c) { Err(Code::Candle) } else { Ok(()) }
}

/// Checks one point for a series of `kind` before it is buffered, with the same rules as
/// [`Batch::encode`], so a batch built from checked points always encodes.
pub fn check_point(kind: Kind, t: i64, point: &Point) -> Result<(), Code> {
    check_time(t)?;
    match (kind.shape(), point) {
        (Shape::Values, Point::Value(v)) => check_finite(*v),
        (Shape::Candles, Point::Candle(p)) => {
            [p.open, p.high, p.low, p.close].into_iter().chain(p.volume).try_for_each(check_finite)?;
            check_candle(p.open, p.high, p.low, p.close)
        }
        (Shape::Markers, Point::Marker(price, marker)) => {
            check_price(*price)?;
            marker.check()
        }
        _ => Err(Code::KindMismatch),
    }
}
