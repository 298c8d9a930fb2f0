//! The cost of a `#[chart]` call against the same function without the attribute, measured in
//! the same run (this machine is noisy), with a private redis-server receiving the points.
//! `cargo bench --bench chart_call` prints ns per call and the ratio.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chartbridge::chart;

const CALLS: u64 = 500_000;
const ROUNDS: usize = 7;

struct Ema {
    value: f64,
}

impl Ema {
    fn plain(&mut self, x: f64) -> f64 {
        self.value += 0.1 * (x - self.value);
        self.value
    }

    #[chart]
    fn charted(&mut self, x: f64) -> f64 {
        self.value += 0.1 * (x - self.value);
        self.value
    }
}

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

unsafe extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time of the calling thread in ns (Linux `CLOCK_THREAD_CPUTIME_ID`): on 2 cores the worker
/// and redis-server preempt the caller, and wall time would bill their work to the call.
fn thread_cpu_ns() -> f64 {
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.sec as f64 * 1e9 + ts.nsec as f64
}

/// (wall, thread CPU) ns per call of `f` over `CALLS` calls.
fn per_call(mut f: impl FnMut(f64) -> f64) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), thread_cpu_ns());
    for i in 0..CALLS {
        black_box(f(black_box(i as f64)));
    }
    let cpu = thread_cpu_ns() - cpu;
    (wall.elapsed().as_nanos() as f64 / CALLS as f64, cpu / CALLS as f64)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Median wall and CPU ns per call over the rounds.
fn medians(rounds: &[(f64, f64)]) -> (f64, f64) {
    (median(rounds.iter().map(|r| r.0).collect()), median(rounds.iter().map(|r| r.1).collect()))
}

fn main() {
    let redis = support::RedisServer::start();
    let mut config = redis.config("Bench", "bench");
    // Room for a whole round: this measures the call, not the drop path of a full queue.
    config.queue = CALLS as usize * 2;
    config.max_backlog = CALLS as usize * 2;
    let run = chartbridge::start(config).expect("a run");
    let mut ema = Ema { value: 0.0 };
    let (mut plain, mut charted, mut off) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // Interleaved, so drift in machine load hits all three alike.
        plain.push(per_call(|x| ema.plain(x)));
        charted.push(per_call(|x| ema.charted(x)));
        assert!(run.flush(Duration::from_secs(60)), "the worker keeps up between rounds");
        chartbridge::set_enabled(false);
        off.push(per_call(|x| ema.charted(x)));
        chartbridge::set_enabled(true);
    }
    let stats = run.stats();
    let (plain, charted, off) = (medians(&plain), medians(&charted), medians(&off));
    println!("ns per call, median of {ROUNDS} rounds of {CALLS} calls   wall      caller-thread CPU");
    println!("plain call                                        {:8.2}   {:8.2}", plain.0, plain.1);
    println!("#[chart] call                                     {:8.2}   {:8.2}", charted.0, charted.1);
    println!("#[chart] call, CHARTBRIDGE=off                    {:8.2}   {:8.2}", off.0, off.1);
    println!(
        "ratio #[chart] / plain: {:.1}x wall, {:.1}x caller CPU (+{:.0} ns CPU per call); disabled: {:.1}x",
        charted.0 / plain.0,
        charted.1 / plain.1,
        charted.1 - plain.1,
        off.1 / plain.1
    );
    println!("points written to Redis: {} (dropped {}, refused {})", stats.written, stats.dropped, stats.refused);
    println!(
        "{{\"figures\":[{{\"name\":\"rust_chart_call_ns\",\"value\":{:.1},\"unit\":\"ns\",\"target\":\"<= 1000\",\"baseline\":{:.2},\"baselineLabel\":\"the same plain method (caller-thread CPU)\"}}]}}",
        charted.1,
        plain.1
    );
}
