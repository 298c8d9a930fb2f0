//! Name rules of SPEC.md section 1. Every name ends up inside a Redis key (series ids and run
//! ids inside a hash tag), so a bad one is refused with `E_NAME` before anything is written.

use crate::wire::Code;

struct Rule {
    first: fn(u8) -> bool,
    rest: fn(u8) -> bool,
    max_len: usize,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn prefix_char(b: u8) -> bool {
    word(b) || b == b'-'
}

fn dotted(b: u8) -> bool {
    word(b) || b == b'.' || b == b'-'
}

fn series_char(b: u8) -> bool {
    dotted(b) || b == b':' || b == b'/'
}

const PREFIX: Rule = Rule { first: prefix_char, rest: prefix_char, max_len: 64 };
const RUN: Rule = Rule { first: alnum, rest: dotted, max_len: 128 };
const SERIES: Rule = Rule { first: word, rest: series_char, max_len: 200 };
const PLUGIN: Rule = Rule { first: word, rest: dotted, max_len: 64 };

fn check(rule: &Rule, name: &str) -> Result<(), Code> {
    let b = name.as_bytes();
    let ok = !b.is_empty() && b.len() <= rule.max_len && (rule.first)(b[0]) && b[1..].iter().all(|&c| (rule.rest)(c));
    if ok { Ok(()) } else { Err(Code::Name) }
}

pub fn check_prefix(name: &str) -> Result<(), Code> {
    check(&PREFIX, name)
}

pub fn check_run_id(name: &str) -> Result<(), Code> {
    check(&RUN, name)
}

pub fn check_series_id(name: &str) -> Result<(), Code> {
    check(&SERIES, name)
}

pub fn check_plugin_name(name: &str) -> Result<(), Code> {
    check(&PLUGIN, name)
}

/// Turns free text (a strategy name) into a valid run id stem, replacing what the rule forbids.
pub fn run_id_stem(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_ascii() && dotted(c as u8) { c } else { '-' }).take(100).collect();
    let trimmed = cleaned.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() { "run".to_owned() } else { trimmed.to_owned() }
}
