//! "Break Here on Next Run" in Rust under a real debugger: gdb runs `examples/break_on_bar.rs` with
//! the conditional breakpoints the chart sets (src/extension/breakpoints.ts: `bar.ts_event == <ns>`
//! on the first body line of the charted function) and stops exactly once in each function, on
//! the chosen bar; the run it debugged still records every bar's conditions into a private Redis.

mod support;

use std::process::Command;

use support::{RedisServer, line_points};

const T0: i64 = 1_700_000_000_000_000_000;
const MIN: i64 = 60_000_000_000;

fn line_of(needle: &str) -> usize {
    include_str!("../examples/break_on_bar.rs").lines().position(|l| l.contains(needle)).expect("the line") + 1
}

#[test]
fn gdb_stops_on_the_chosen_bar_in_both_chart_shapes() {
    let gdb = Command::new("gdb").arg("--version").output();
    assert!(gdb.is_ok_and(|o| o.status.success()), "gdb is needed: apt-get install -y gdb");
    let manifest = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = Command::new(cargo).args(["build", "--example", "break_on_bar"]).current_dir(manifest).status().unwrap();
    assert!(built.success());
    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("examples").join("break_on_bar");
    let chosen = T0 + 17 * MIN;
    let mut script = String::from("set debuginfod enabled off\nset pagination off\n");
    for (function, needle) in [("close", "let up ="), ("on_bar", "let even =")] {
        // The condition exactly as the chart writes it for a `bar` argument.
        script += &format!(
            "break break_on_bar.rs:{} if bar.ts_event == {chosen}\ncommands\nsilent\nprintf \"stop {function} %d %lu\\n\", bar.index, bar.ts_event\ncontinue\nend\n",
            line_of(needle)
        );
    }
    script += "run\n";
    let file = std::env::temp_dir().join(format!("cb-gdb-{}.gdb", std::process::id()));
    std::fs::write(&file, script).unwrap();
    let redis = RedisServer::start();
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "-x"])
        .arg(&file)
        .arg(&binary)
        .env("CHARTBRIDGE_REDIS_URL", redis.url())
        .env("CHARTBRIDGE_PREFIX", "cbtest")
        .env("CHARTBRIDGE_RUN", "debugged")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stops: Vec<&str> = stdout.lines().filter(|l| l.starts_with("stop ")).collect();
    assert_eq!(stops, [format!("stop close 17 {chosen}"), format!("stop on_bar 17 {chosen}")], "gdb said:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("exited normally"), "{stdout}");
    // Debugged or not, the run has every bar's conditions.
    let (t, y) = line_points(&redis, "cbtest:{debugged}:s:close:close_up");
    assert_eq!(t, (0..50).map(|i| T0 + i * MIN).collect::<Vec<_>>());
    assert_eq!(y, (0..50).map(|i| if 100.0 + (i % 3) as f64 - 1.0 > 100.0 { 1.0 } else { 0.0 }).collect::<Vec<_>>());
    assert_eq!(line_points(&redis, "cbtest:{debugged}:s:on_bar:even").1, (0..50).map(|i| if i % 2 == 0 { 1.0 } else { 0.0 }).collect::<Vec<_>>());
}
