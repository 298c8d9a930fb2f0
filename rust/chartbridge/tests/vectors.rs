//! The conformance vectors of protocol/vectors/, shared with the Python and TypeScript suites:
//! valid inputs encode to exactly their fields and decode to exactly their decoded form, invalid
//! entries are rejected with their code, refused inputs are refused with theirs.

use std::collections::HashMap;
use std::path::PathBuf;

use chartbridge::wire::{Batch, Columns};
use chartbridge::{Candle, Code, Kind, Marker, Point, SeriesSpec, names};
use serde_json::{Value, json};

fn vectors(folder: &str) -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol/vectors").join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable vector");
            (path.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_str(&text).expect("vector JSON"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits = text.as_bytes();
    (0..digits.len() / 2).map(|i| u8::from_str_radix(std::str::from_utf8(&digits[2 * i..2 * i + 2]).unwrap(), 16).unwrap()).collect()
}

/// `input` numbers are JSON numbers or the strings "NaN", "Infinity", "-Infinity".
fn float(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => other.as_f64().expect("a number"),
    }
}

fn floats(input: &Value, key: &str) -> Vec<f64> {
    input[key].as_array().map(|a| a.iter().map(float).collect()).unwrap_or_default()
}

/// Encodes a vector's `input` the way a producer does: each point checked, then the batch.
fn encode(series: &Value, input: &Value) -> Result<Vec<(&'static str, Vec<u8>)>, Code> {
    if let Some(id) = series["id"].as_str() {
        names::check_series_id(id)?;
    }
    let kind = Kind::parse(series["kind"].as_str().unwrap()).expect("a kind");
    let times: Vec<i64> = input["t"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().parse().unwrap()).collect();
    let (y, o, h, l, c, vol) = (
        floats(input, "y"),
        floats(input, "o"),
        floats(input, "h"),
        floats(input, "l"),
        floats(input, "c"),
        floats(input, "vol"),
    );
    let mut batch = Batch::new(kind, !vol.is_empty());
    for (i, &t) in times.iter().enumerate() {
        let point = match kind {
            Kind::Candlestick | Kind::Bar => {
                Point::Candle(Candle { open: o[i], high: h[i], low: l[i], close: c[i], volume: vol.get(i).copied() })
            }
            Kind::Marker => Point::Marker(y[i], Marker::from_json(&input["m"][i])?),
            _ => Point::Value(y[i]),
        };
        chartbridge::wire::check_point(kind, t, &point)?;
        batch.push(t, point);
    }
    batch.encode()
}

fn field_map(fields: &Value) -> HashMap<String, Vec<u8>> {
    let binary = ["t", "y", "o", "h", "l", "c", "vol"];
    fields
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().unwrap();
            (k.clone(), if binary.contains(&k.as_str()) { unhex(text) } else { text.as_bytes().to_vec() })
        })
        .collect()
}

/// The decoded form of SPEC section 4: times as decimal strings, NaN as null.
fn decoded_json(batch: &Batch) -> Value {
    let nums = |xs: &[f64]| Value::Array(xs.iter().map(|&x| if x.is_nan() { Value::Null } else { json!(x) }).collect());
    let mut out = json!({"kind": batch.kind.as_str(), "t": batch.t.iter().map(|t| t.to_string()).collect::<Vec<_>>()});
    match &batch.columns {
        Columns::Values { y } => out["y"] = nums(y),
        Columns::Candles { o, h, l, c, vol } => {
            for (k, col) in [("o", o), ("h", h), ("l", l), ("c", c)] {
                out[k] = nums(col);
            }
            if let Some(vol) = vol {
                out["vol"] = nums(vol);
            }
        }
        Columns::Markers { y, m } => {
            out["y"] = nums(y);
            out["m"] = Value::Array(m.iter().map(marker_json).collect());
        }
    }
    out
}

fn marker_json(m: &Marker) -> Value {
    let mut batch = Batch::new(Kind::Marker, false);
    batch.push(0, Point::Marker(0.0, m.clone()));
    let fields = batch.encode().expect("a valid marker");
    let text = &fields.iter().find(|(k, _)| *k == "m").unwrap().1;
    serde_json::from_slice::<Value>(text).unwrap()[0].clone()
}

/// Floats must match bit for bit (so -0.0 is not 0.0); everything else by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => a == b,
    }
}

#[test]
fn valid_vectors_encode_to_their_exact_fields() {
    for (name, v) in vectors("valid") {
        let fields = encode(&v["series"], &v["input"]).unwrap_or_else(|e| panic!("{name}: refused with {e}"));
        let ours: HashMap<&str, String> = fields
            .iter()
            .map(|(k, val)| (*k, if ["v", "k", "n", "m"].contains(k) { String::from_utf8(val.clone()).unwrap() } else { hex(val) }))
            .collect();
        let expected = v["fields"].as_object().unwrap();
        assert_eq!(ours.len(), expected.len(), "{name}: field names {:?}", ours.keys());
        for (k, want) in expected {
            let got = ours.get(k.as_str()).unwrap_or_else(|| panic!("{name}: no field {k}"));
            if k == "m" {
                // SPEC: vectors compare `m` as parsed JSON; the bytes are checked below too.
                let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap();
                assert_eq!(parse(got), parse(want.as_str().unwrap()), "{name}: field m");
            }
            assert_eq!(got, want.as_str().unwrap(), "{name}: field {k}");
        }
    }
}

#[test]
fn valid_vectors_decode_to_their_exact_form() {
    for (name, v) in vectors("valid") {
        let batch = Batch::decode(&field_map(&v["fields"]), None).unwrap_or_else(|e| panic!("{name}: rejected with {e}"));
        let got = decoded_json(&batch);
        assert!(same(&got, &v["decoded"]), "{name}: decoded {got} != {}", v["decoded"]);
    }
}

#[test]
fn invalid_vectors_are_rejected_with_their_code() {
    for (name, v) in vectors("invalid") {
        let registered = v["registered"].as_str().map(|k| Kind::parse(k).unwrap());
        let result = Batch::decode(&field_map(&v["fields"]), registered);
        assert_eq!(result.err().map(Code::as_str), v["error"].as_str(), "{name}");
    }
}

#[test]
fn refused_vectors_are_refused_with_their_code() {
    for (name, v) in vectors("refused") {
        let result = encode(&v["series"], &v["input"]);
        assert_eq!(result.err().map(Code::as_str), v["error"].as_str(), "{name}");
    }
}

/// Registry vectors (SPEC section 7): `SeriesSpec::precision` and `unit` write exactly the options
/// the vector states, beside the lightweight-charts options passed through.
#[test]
fn registry_options_written_as_the_vectors_state() {
    for (name, case) in vectors("registry") {
        let s = &case["series"];
        let kind = Kind::parse(s["kind"].as_str().unwrap()).unwrap_or_else(|| panic!("{name}: kind"));
        let mut spec = SeriesSpec::new(s["id"].as_str().unwrap(), kind).options(s.get("options").cloned().unwrap_or(json!({})));
        if let Some(precision) = s.get("precision") {
            spec = spec.precision(precision.as_u64().unwrap() as u32, s.get("min_move").and_then(Value::as_f64));
        }
        if let Some(unit) = s.get("unit") {
            spec = spec.unit(unit.as_str().unwrap());
        }
        let written: Value = serde_json::from_str(&spec.registry_json().unwrap_or_else(|c| panic!("{name}: refused {c:?}"))).unwrap();
        assert!(same_json(&written["options"], &case["options"]), "{name}: wrote {} for {}", written["options"], case["options"]);
    }
}

/// JSON equality with numbers compared as numbers (`1.0` writes what `1` does).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w))),
        _ => a == b,
    }
}
