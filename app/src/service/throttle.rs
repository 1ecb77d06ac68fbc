//! Login throttling: how many wrong passwords a user name and a client address may cost, and
//! how many password checks run at once.
//!
//! The rules, per node (kept in memory):
//! - An **address** (an IPv6 address counts by its /64) with [`THROTTLE_FAILURES`] failures in
//!   the last [`THROTTLE_WINDOW_MILLIS`] is refused for every user name.
//! - A **user name** with as many failures is refused from every address *except* those it
//!   logged in from successfully in the last [`TRUSTED_MILLIS`]: a stranger guessing an admin's
//!   password from elsewhere cannot lock the admin out of the address they work from.
//! - A try is counted **before** its password is checked, so parallel guesses cannot all be
//!   checked before the first is counted; a success takes its own count back. A try kept out
//!   only by tries still being checked waits for them (parallel logins with the right password
//!   from one office all get in); one kept out by real failures is refused at once.
//! - Keys are SHA-256 digests (a 1 MiB user name costs 32 bytes); at most [`MAX_KEYS`] keys are
//!   kept, expired ones are pruned first and the stalest go when it is full.
//! - At most [`MAX_VERIFYING`] password hashes (argon2, 19 MiB each) are computed at once; a
//!   login that cannot get a turn within [`VERIFY_WAIT`] is refused as throttled.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::types::Timestamp;

/// Failed logins allowed per user name, and per client address, within [`THROTTLE_WINDOW_MILLIS`].
pub const THROTTLE_FAILURES: usize = 5;
/// The window failed logins are counted in: 15 minutes.
pub const THROTTLE_WINDOW_MILLIS: i64 = 15 * 60 * 1000;
/// How long an address a user logged in from stays exempt from that user's lock: 30 days.
pub const TRUSTED_MILLIS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Addresses remembered per user as trusted.
pub const TRUSTED_PER_USER: usize = 8;
/// The most keys (user names and addresses) the throttle keeps.
pub const MAX_KEYS: usize = 100_000;
/// Password hashes computed at once.
pub const MAX_VERIFYING: usize = 4;
/// How long a login waits for its turn to have its password checked.
pub const VERIFY_WAIT: Duration = Duration::from_secs(10);

type Key = [u8; 32];

fn digest(kind: &str, text: &str) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    hasher.finalize().into()
}

fn user_key(name: &str) -> Key {
    digest("user", &name.trim().to_lowercase())
}

/// An address as it is counted: IPv4 whole, IPv6 by its /64 (one customer's whole network);
/// text that is no address counts as itself.
fn addr_key(addr: &str) -> Key {
    match addr.trim().parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            digest(
                "addr6",
                &format!("{:x}:{:x}:{:x}:{:x}", s[0], s[1], s[2], s[3]),
            )
        }
        Ok(IpAddr::V6(v6)) => digest("addr", &v6.to_canonical().to_string()),
        Ok(ip) => digest("addr", &ip.to_string()),
        Err(_) => digest("addr", addr.trim()),
    }
}

#[derive(Default)]
struct State {
    /// Failure times per key, oldest first.
    failures: HashMap<Key, VecDeque<i64>>,
    /// Per user: the addresses it logged in from, with when.
    trusted: HashMap<Key, VecDeque<(Key, i64)>>,
    /// Tries counted but not yet settled, per key: they hold a place among the failures until
    /// their passwords are checked.
    pending: HashMap<Key, usize>,
}

/// What a try may do now.
enum Verdict {
    Go(Attempt),
    /// The failures are used up.
    Refused,
    /// Only tries still being checked fill the places: wait for them.
    Wait,
}

impl State {
    fn recent(&mut self, key: &Key, now: i64) -> usize {
        let Some(times) = self.failures.get_mut(key) else {
            return 0;
        };
        while times
            .front()
            .is_some_and(|t| *t <= now - THROTTLE_WINDOW_MILLIS)
        {
            times.pop_front();
        }
        times.len()
    }

    fn is_trusted(&self, user: &Key, addr: &Key, now: i64) -> bool {
        self.trusted.get(user).is_some_and(|list| {
            list.iter()
                .any(|(a, at)| a == addr && *at > now - TRUSTED_MILLIS)
        })
    }

    /// Makes room for a new key: expired keys go first; when it is still full, the staler half
    /// (by last failure), so that the work of making room is shared by the many keys that fill
    /// it again.
    fn make_room(&mut self, now: i64) {
        if self.failures.len() < MAX_KEYS {
            return;
        }
        self.failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| *t > now - THROTTLE_WINDOW_MILLIS)
        });
        if self.failures.len() < MAX_KEYS {
            return;
        }
        let mut last: Vec<i64> = self
            .failures
            .values()
            .map(|times| times.back().copied().unwrap_or(i64::MIN))
            .collect();
        let middle = last.len() / 2;
        let (_, cut, _) = last.select_nth_unstable(middle);
        let cut = *cut;
        self.failures
            .retain(|_, times| times.back().is_some_and(|t| *t > cut));
    }

    fn count(&mut self, key: Key, now: i64) {
        if !self.failures.contains_key(&key) {
            self.make_room(now);
        }
        self.failures.entry(key).or_default().push_back(now);
    }

    /// Where `key` stands: its failures used up (counting tries still checked as failures),
    /// and whether real failures alone use them up.
    fn standing(&mut self, key: &Key, now: i64) -> (bool, bool) {
        let recent = self.recent(key, now);
        let pending = self.pending.get(key).copied().unwrap_or(0);
        (
            recent >= THROTTLE_FAILURES,
            recent.saturating_sub(pending) >= THROTTLE_FAILURES,
        )
    }

    fn settle(&mut self, key: &Key) {
        if let Some(n) = self.pending.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.pending.remove(key);
            }
        }
    }

    fn uncount(&mut self, key: &Key, at: i64) {
        if let Some(times) = self.failures.get_mut(key) {
            if let Some(i) = times.iter().rposition(|t| *t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.failures.remove(key);
            }
        }
    }
}

/// Recent failed logins per user name and per client address, and the turns for password checks.
pub struct LoginThrottle {
    state: Mutex<State>,
    verifying: tokio::sync::Semaphore,
    /// Told whenever a try settles, for tries waiting for a place.
    settled: tokio::sync::Notify,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle {
            state: Mutex::default(),
            verifying: tokio::sync::Semaphore::new(MAX_VERIFYING),
            settled: tokio::sync::Notify::new(),
        }
    }
}

/// A login try that has been counted as failed until it says otherwise ([`LoginThrottle::succeeded`]).
#[derive(Debug)]
pub struct Attempt {
    /// The name's key, when the try counted against the name.
    user: Option<Key>,
    addr: Option<Key>,
    at: i64,
}

impl LoginThrottle {
    /// Counts a try of user `name` from `addr`, or refuses it (`None`) when the name or the
    /// address has used up its failures (the name's count is not held against an address the
    /// user logged in from before); tries still being checked count as failures here.
    pub fn begin(&self, name: &str, addr: Option<&str>, now: Timestamp) -> Option<Attempt> {
        match self.judge(name, addr, now) {
            Verdict::Go(attempt) => Some(attempt),
            Verdict::Refused | Verdict::Wait => None,
        }
    }

    /// As [`begin`](Self::begin), but a try kept out only by tries still being checked waits
    /// (up to [`VERIFY_WAIT`]) for them to settle: parallel logins with the right password from
    /// one address all get in, parallel guesses get no more checks than failures allowed.
    pub async fn admit(
        &self,
        name: &str,
        addr: Option<&str>,
        now: impl Fn() -> Timestamp,
    ) -> Option<Attempt> {
        let deadline = tokio::time::Instant::now() + VERIFY_WAIT;
        loop {
            let settled = self.settled.notified();
            match self.judge(name, addr, now()) {
                Verdict::Go(attempt) => return Some(attempt),
                Verdict::Refused => return None,
                Verdict::Wait => {
                    tokio::time::timeout_at(deadline, settled).await.ok()?;
                }
            }
        }
    }

    fn judge(&self, name: &str, addr: Option<&str>, now: Timestamp) -> Verdict {
        let user = user_key(name);
        let addr = addr.map(addr_key);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait = false;
        if let Some(addr) = &addr {
            match state.standing(addr, now.0) {
                (_, true) => return Verdict::Refused,
                (full, false) => wait |= full,
            }
        }
        let trusted = addr
            .as_ref()
            .is_some_and(|a| state.is_trusted(&user, a, now.0));
        if !trusted {
            match state.standing(&user, now.0) {
                (_, true) => return Verdict::Refused,
                (full, false) => wait |= full,
            }
        }
        if wait {
            return Verdict::Wait;
        }
        // A trusted address's tries still count against the address, never against the name:
        // the owner mistyping at their desk does not lock their name for everyone else.
        if !trusted {
            state.count(user, now.0);
            *state.pending.entry(user).or_default() += 1;
        }
        if let Some(addr) = addr {
            state.count(addr, now.0);
            *state.pending.entry(addr).or_default() += 1;
        }
        Verdict::Go(Attempt {
            user: (!trusted).then_some(user),
            addr,
            at: now.0,
        })
    }

    /// The try failed: it stays counted.
    pub fn failed(&self, attempt: Attempt) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for key in attempt.user.iter().chain(attempt.addr.iter()) {
            state.settle(key);
        }
        drop(state);
        self.settled.notify_waiters();
    }

    /// The try succeeded: its count is taken back and its address is trusted for this user.
    pub fn succeeded(&self, attempt: Attempt, name: &str) {
        let user = user_key(name);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = &attempt.user {
            state.uncount(key, attempt.at);
            state.settle(key);
        }
        if let Some(addr) = attempt.addr {
            state.uncount(&addr, attempt.at);
            state.settle(&addr);
            let list = state.trusted.entry(user).or_default();
            list.retain(|(a, _)| *a != addr);
            list.push_back((addr, attempt.at));
            while list.len() > TRUSTED_PER_USER {
                list.pop_front();
            }
        }
        drop(state);
        self.settled.notify_waiters();
    }

    /// Runs `check` (a password hash) when a turn is free, waiting at most [`VERIFY_WAIT`];
    /// `None` when no turn came.
    pub async fn verify<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permit = tokio::time::timeout(VERIFY_WAIT, self.verifying.acquire())
            .await
            .ok()?
            .ok()?;
        let result = tokio::task::spawn_blocking(check).await.ok();
        drop(permit);
        result
    }

    /// How many keys are kept (for tests of the memory bound).
    pub fn keys(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failures
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1_000_000_000);

    #[test]
    fn parallel_guesses_are_counted_before_they_are_checked() {
        let throttle = LoginThrottle::default();
        let started: Vec<_> = (0..20)
            .filter_map(|_| throttle.begin("boss", Some("10.0.0.1"), T))
            .collect();
        assert_eq!(started.len(), THROTTLE_FAILURES);
    }

    #[test]
    fn a_guessing_stranger_does_not_lock_the_owner_out_of_a_trusted_address() {
        let throttle = LoginThrottle::default();
        let ok = throttle.begin("boss", Some("192.0.2.1"), T).expect("first");
        throttle.succeeded(ok, "boss");
        for i in 0..20 {
            let _ = throttle.begin("boss", Some(&format!("198.51.100.{i}")), T);
        }
        assert!(
            throttle.begin("boss", Some("203.0.113.9"), T).is_none(),
            "the name is locked for new addresses"
        );
        assert!(
            throttle.begin("boss", Some("192.0.2.1"), T).is_some(),
            "but not where its owner logs in"
        );
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let throttle = LoginThrottle::default();
        for i in 0..THROTTLE_FAILURES {
            let name = format!("user{i}");
            assert!(throttle
                .begin(&name, Some(&format!("2001:db8:1:2::{i:x}")), T)
                .is_some());
        }
        assert!(throttle
            .begin("someone", Some("2001:db8:1:2:ffff::1"), T)
            .is_none());
        assert!(throttle
            .begin("someone", Some("2001:db8:1:3::1"), T)
            .is_some());
    }

    #[test]
    fn failures_age_out_of_the_window() {
        let throttle = LoginThrottle::default();
        for _ in 0..THROTTLE_FAILURES {
            throttle.begin("boss", Some("10.0.0.1"), T);
        }
        assert!(throttle.begin("boss", Some("10.0.0.1"), T).is_none());
        let later = Timestamp(T.0 + THROTTLE_WINDOW_MILLIS);
        assert!(throttle.begin("boss", Some("10.0.0.1"), later).is_some());
    }

    #[test]
    fn the_keys_kept_are_bounded_and_small() {
        let throttle = LoginThrottle::default();
        let huge = "x".repeat(1 << 20);
        throttle.begin(&huge, None, T);
        for i in 0..(MAX_KEYS + 50) {
            let addr = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            throttle.begin(&format!("u{i}"), Some(&addr), Timestamp(T.0 + i as i64));
        }
        assert!(throttle.keys() <= MAX_KEYS, "{} keys", throttle.keys());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_password_checks_run_at_once_than_there_are_turns() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let throttle = std::sync::Arc::new(LoginThrottle::default());
        let now = std::sync::Arc::new(AtomicUsize::new(0));
        let most = std::sync::Arc::new(AtomicUsize::new(0));
        let checks = (0..(3 * MAX_VERIFYING)).map(|_| {
            let (throttle, now, most) = (throttle.clone(), now.clone(), most.clone());
            tokio::spawn(async move {
                throttle
                    .verify(move || {
                        let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(at_once, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        now.fetch_sub(1, Ordering::SeqCst);
                        true
                    })
                    .await
            })
        });
        for check in checks.collect::<Vec<_>>() {
            assert_eq!(
                check.await.expect("task"),
                Some(true),
                "every check got its turn"
            );
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=MAX_VERIFYING).contains(&most), "{most} checks at once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_right_passwords_from_one_address_all_get_in() {
        let throttle = std::sync::Arc::new(LoginThrottle::default());
        let logins = (0..(4 * THROTTLE_FAILURES)).map(|_| {
            let throttle = throttle.clone();
            tokio::spawn(async move {
                let attempt = throttle.admit("boss", Some("10.0.0.9"), || T).await?;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                throttle.succeeded(attempt, "boss");
                Some(())
            })
        });
        for login in logins.collect::<Vec<_>>() {
            assert_eq!(
                login.await.expect("task"),
                Some(()),
                "every right password got in"
            );
        }
        // Guesses in parallel: as many checked as failures allowed, the rest refused.
        let guesses = (0..(4 * THROTTLE_FAILURES)).map(|_| {
            let throttle = throttle.clone();
            tokio::spawn(async move {
                let attempt = throttle.admit("boss", Some("10.0.0.66"), || T).await?;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                throttle.failed(attempt);
                Some(())
            })
        });
        let mut checked = 0;
        for guess in guesses.collect::<Vec<_>>() {
            checked += usize::from(guess.await.expect("task").is_some());
        }
        assert_eq!(checked, THROTTLE_FAILURES);
    }
}
