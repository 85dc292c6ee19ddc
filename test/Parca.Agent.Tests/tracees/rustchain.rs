// Tracee in Rust, built with `rustc -O` (release: no frame pointers): main -> level1 -> level2 -> level3 -> burn for
// argv[1] seconds. Each caller uses its callee's result so no call becomes a tail call.
use std::time::{Duration, Instant};

static mut SINK: u64 = 0;

#[inline(never)]
fn burn(n: u64) -> u64 {
    let mut x = n;
    for _ in 0..2_000_000u32 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    x
}

#[inline(never)]
fn level3(n: u64) -> u64 {
    burn(n).wrapping_add(3)
}

#[inline(never)]
fn level2(n: u64) -> u64 {
    level3(n).wrapping_add(2)
}

#[inline(never)]
fn level1(n: u64) -> u64 {
    level2(n).wrapping_add(1)
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        unsafe {
            let v = std::ptr::read_volatile(&SINK);
            std::ptr::write_volatile(&mut SINK, level1(v));
        }
    }
    println!("done {}", unsafe { std::ptr::read_volatile(&SINK) });
}
