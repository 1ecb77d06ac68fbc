//! The log of a real `billops serve` process: with `BILLOPS_LOG_FORMAT=json` every line is one
//! JSON object, and the lines written while serving a request carry that request's id (the one
//! echoed in `X-Request-Id`), never its query string.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the node when the test ends, passed or not.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 60 s for `check` to find what it looks for.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn json_log_lines_carry_the_id_of_the_request_they_belong_to() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("out");
    let err = dir.path().join("err");
    let node = Node(
        Command::new(env!("CARGO_BIN_EXE_billops"))
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "0"])
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("logs.db").display()),
            )
            .env("BILLOPS_LOG_FORMAT", "json")
            .env("BILLOPS_LOG", "info,tower_http=debug")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("out"))
            .stderr(std::fs::File::create(&err).expect("err"))
            .spawn()
            .expect("start billops serve"),
    );
    let address = wait_for("the node to listen", || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("billops listening on http://"))
            .map(str::to_owned)
    });

    let mut stream = TcpStream::connect(&address).expect("connect");
    write!(
        stream,
        "GET /billmgr?func=runningoperation&authinfo=boss:secret-word&out=xml HTTP/1.1\r\n\
         Host: {address}\r\nX-Request-Id: trace-me-42\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: trace-me-42"),
        "{answer}"
    );

    let line = wait_for("a log line of the request", || {
        std::fs::read_to_string(&err)
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains("trace-me-42"))
            .map(str::to_owned)
    });
    let log = std::fs::read_to_string(&err).expect("log");
    // Every line the log writes is one JSON object. (A dependency's own warnings, printed
    // straight to stderr in debug builds, are not log lines: they carry no level.)
    for l in log.lines().filter(|l| !l.trim().is_empty()) {
        if l.starts_with('{') {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"));
        } else {
            assert!(
                !["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                    .iter()
                    .any(|level| l.contains(&format!(" {level} "))),
                "a log line in text, not JSON: {l}"
            );
        }
    }
    let entry: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(entry["span"]["id"], "trace-me-42", "{line}");
    assert_eq!(entry["span"]["path"], "/billmgr", "{line}");
    assert!(
        !log.contains("secret-word"),
        "the query (and its password) stays out of the log"
    );
    drop(node);
}
