//! What this machine gives threads that share nothing: one fixed, register-only workload
//! (no memory traffic, no locks, no allocation) run on one thread, then once on each of
//! N threads at the same time. On N free cores the N copies take as long as the one and
//! the ceiling is N×; a VM whose vCPUs share a host core, or a busy host, gives less.
//! `bench/run.sh` prints it next to kfpguard's `-j 1 -> -j N` speed-up, which no code can
//! push past it.
//!
//! ```text
//! cargo run --release --example host_ceiling -- [-j N] [ROUNDS]
//! ```
//!
//! Prints one line: `host_ceiling: N threads X.XX× (ideal N.00×), median of ROUNDS rounds`.
//! Rounds alternate one thread and N threads, so a host whose speed drifts meets both
//! alike.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: host_ceiling [-j N] [ROUNDS]";

/// Steps of the workload: about 0.1 s on one core of the benchmark VM.
const STEPS: u64 = 50_000_000;

/// A xorshift generator stepped `steps` times: every step depends on the last, so the
/// loop runs at one core's speed whatever the compiler does, and touches no memory.
fn workload(seed: u64, steps: u64) -> u64 {
    let mut state = seed | 1;
    for _ in 0..steps {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
    }
    state
}

/// Seconds for `threads` copies of the workload run at once.
fn timed(threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for seed in 0..threads as u64 {
            scope.spawn(move || black_box(workload(black_box(seed), black_box(STEPS))));
        }
    });
    start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn parse_args() -> Result<(usize, usize), String> {
    let (mut threads, mut rounds) = (2, 7);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let number = |text: Option<String>| text.and_then(|t| t.parse::<usize>().ok()).filter(|&n| n > 0);
        match arg.as_str() {
            "-j" => threads = number(args.next()).ok_or("-j needs a positive number")?,
            "-h" | "--help" => return Err(String::new()),
            _ => rounds = number(Some(arg)).ok_or("ROUNDS must be a positive number")?,
        }
    }
    Ok((threads, rounds))
}

fn main() -> ExitCode {
    let (threads, rounds) = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("host_ceiling: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Speed-up of round r: N times the work in the time of the N-thread run.
    let speedups: Vec<f64> = (0..rounds).map(|_| threads as f64 * timed(1) / timed(threads)).collect();
    println!(
        "host_ceiling: {threads} threads {:.2}× (ideal {threads}.00×), median of {rounds} rounds",
        median(speedups)
    );
    ExitCode::SUCCESS
}
