//! The `/billmgr` request parser and renderer under the largest request it takes: a 1 MiB form
//! body of 100,000 distinct parameters, read before anyone is authenticated. Prints the median
//! and slowest of `BENCH_ITERATIONS` (default 20) runs of: parsing it, and rendering a list
//! that echoes all of it in `tparams` (`xml` and `sjson`).
//!
//! `cargo bench -p server --bench parser`

use std::time::{Duration, Instant};

use server::billmgr::render::{render, Format};
use server::billmgr::reply::Reply;
use server::billmgr::request::{parse, MAX_BODY_BYTES};

fn figures(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<46} median {:>8.2} ms   slowest {:>8.2} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut body = String::new();
    let mut count = 0;
    while count < 100_000 {
        body.push_str(&format!("p{count}=v&"));
        count += 1;
    }
    assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
    println!(
        "body: {} bytes, {count} distinct parameters, {iterations} runs each",
        body.len()
    );
    let mut parsing = Vec::new();
    let mut params = None;
    for _ in 0..iterations {
        let start = Instant::now();
        let parsed =
            parse(Some("func=runningoperation&out=xml"), None, body.as_bytes()).expect("parses");
        parsing.push(start.elapsed());
        params = Some(parsed);
    }
    figures("parse (form body)", parsing);
    let params = params.expect("parsed once");
    let reply = Reply::List {
        rows: Vec::new(),
        paging: None,
    };
    for (name, format) in [
        ("render xml, all echoed in tparams", Format::Xml),
        ("render sjson, all echoed in tparams", Format::Json),
    ] {
        let times = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                let out = render(&reply, &params, format);
                let elapsed = start.elapsed();
                assert!(out.len() > body.len());
                elapsed
            })
            .collect();
        figures(name, times);
    }
}
