//! The fingerprint of a failure: its module, its error type and its message with the variable
//! parts (numbers, ids, addresses, host names, quoted values, UUIDs, dates) replaced by
//! placeholders. Failures with one fingerprint are one incident, however many operations and
//! clients they hit. The rules are documented in docs/failures.md.

use sha2::{Digest, Sha256};

use crate::types::failure::FailureMark;

/// Longest template kept, in characters; the rest of a long message does not tell incidents
/// apart and would only make the key depend on noise.
pub const MAX_TEMPLATE_CHARS: usize = 300;
/// Longest quoted value replaced as one.
const MAX_QUOTED_CHARS: usize = 200;
/// Longest sample message kept, in characters.
pub const MAX_SAMPLE_CHARS: usize = 500;

/// The fingerprint of a failure of module `module_id` with `error_type` and `message`.
pub fn fingerprint(module_id: i64, error_type: &str, message: &str) -> FailureMark {
    let template = template(message);
    let mut hash = Sha256::new();
    hash.update(module_id.to_string().as_bytes());
    hash.update([0]);
    hash.update(error_type.as_bytes());
    hash.update([0]);
    hash.update(template.as_bytes());
    let key = hex::encode(&hash.finalize()[..8]);
    FailureMark {
        key,
        module_id,
        error_type: error_type.chars().take(64).collect(),
        template,
        sample: message.chars().take(MAX_SAMPLE_CHARS).collect(),
    }
}

/// `message` with its variable parts replaced by placeholders and runs of white space made one
/// space.
pub fn template(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_TEMPLATE_CHARS * 4));
    let chars: Vec<char> = message.chars().take(MAX_TEMPLATE_CHARS * 8).collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A quote opens after a space or punctuation only (`can't` is a word), and closes
        // within a bounded distance.
        let opens = i == 0 || !chars[i - 1].is_alphanumeric();
        if let Some(close) = closing_quote(c).filter(|_| opens) {
            let window = &chars[i + 1..chars.len().min(i + 1 + MAX_QUOTED_CHARS)];
            if let Some(end) = window.iter().position(|&d| d == close) {
                out.push(c);
                out.push_str("<value>");
                out.push(close);
                i += end + 2;
                continue;
            }
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        if is_word(c) {
            let start = i;
            if starts_url(&chars[i..]) {
                // A URL runs to the next space, query and all.
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                out.push_str("<url>");
                continue;
            }
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            // A word never ends in the punctuation that closes a sentence or a clause.
            let mut end = i;
            while end > start && matches!(chars[end - 1], '.' | ':' | '-' | '/' | '@') {
                end -= 1;
            }
            let word: String = chars[start..end].iter().collect();
            out.push_str(&placeholder(&word).unwrap_or(word));
            out.extend(&chars[end..i]);
            continue;
        }
        out.push(c);
        i += 1;
    }
    let trimmed = out.trim_end();
    trimmed.chars().take(MAX_TEMPLATE_CHARS).collect()
}

/// Whether `chars` start with `scheme://`.
fn starts_url(chars: &[char]) -> bool {
    let scheme = chars.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    (2..=10).contains(&scheme) && chars.get(scheme..scheme + 3) == Some(&[':', '/', '/'][..])
}

fn closing_quote(c: char) -> Option<char> {
    match c {
        '\'' => Some('\''),
        '"' => Some('"'),
        '`' => Some('`'),
        '«' => Some('»'),
        '“' => Some('”'),
        _ => None,
    }
}

/// Characters a word (a token that may be variable) is made of.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | ':' | '-' | '_' | '/' | '@' | '%' | '+')
}

/// The placeholder of a variable word, or `None` for a word to keep.
fn placeholder(word: &str) -> Option<String> {
    if word.is_empty() {
        return None;
    }
    if is_uuid(word) {
        return Some("<uuid>".into());
    }
    if is_date_or_time(word) {
        return Some("<date>".into());
    }
    if is_ip(word) {
        return Some("<address>".into());
    }
    if word.contains('@') && word.split('@').all(|p| !p.is_empty()) {
        return Some("<address>".into());
    }
    if is_host(word) {
        return Some("<host>".into());
    }
    if is_number(word) {
        return Some("<number>".into());
    }
    if !word.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // A long hexadecimal run is an id whatever its letters.
    if word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some("<id>".into());
    }
    // Letters with numbers in them (`vm-1234`, `id=42`, `HTTP/1.1`): the numbers vary.
    let mut out = String::new();
    let mut in_digits = false;
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str("<number>");
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    Some(out)
}

fn is_number(word: &str) -> bool {
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    let digits = digits.strip_suffix('%').unwrap_or(digits);
    !digits.is_empty()
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

fn is_uuid(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `2026-11-30`, `30.11.2026`, `12:34:56`, `2026-11-30T12:34:56Z` and the like.
fn is_date_or_time(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let shape_ok = word
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | 'T' | 'Z' | '+'));
    let has_separator = word.contains('-') || word.contains(':') || word.matches('.').count() == 2;
    shape_ok && has_separator && digits >= 4 && !is_ip(word) && {
        let groups: Vec<&str> = word
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .collect();
        groups.len() >= 2 && groups.iter().all(|g| g.len() <= 4)
    }
}

/// An IPv4 address (with a port, maybe) or an IPv6 address.
fn is_ip(word: &str) -> bool {
    let host = match word.rsplit_once(':') {
        Some((h, port)) if h.contains('.') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => word,
    };
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let v6 = word.trim_start_matches('[').trim_end_matches(']');
    v6.matches(':').count() >= 2 && v6.parse::<std::net::Ipv6Addr>().is_ok()
}

/// A host name: labels of letters, digits and hyphens joined by dots, the last alphabetic
/// (`vm12.fra.example.com`), with a port maybe.
fn is_host(word: &str) -> bool {
    let host = match word.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => h,
        _ => word,
    };
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_to_different_hosts_and_ports_share_a_template() {
        assert_eq!(
            template("connect to 10.0.0.12:1500 failed: Connection refused (os error 111)"),
            "connect to <address> failed: Connection refused (os error <number>)"
        );
        assert_eq!(
            template("connect to 10.0.7.3:443 failed: Connection refused (os error 111)"),
            template("connect to 10.0.0.12:1500 failed: Connection refused (os error 111)")
        );
    }

    #[test]
    fn quoted_values_ids_uuids_and_dates_become_placeholders() {
        assert_eq!(
            template("domain \"shop-42.example\" is taken since 2026-11-30T10:00:00Z"),
            "domain \"<value>\" is taken since <date>"
        );
        assert_eq!(
            template("VM 6f1c2a9e-0b7d-4c1e-9a55-3e2d1f0a9b8c not found on vm12.fra.example.com"),
            "VM <uuid> not found on <host>"
        );
        assert_eq!(
            template("quota of user #1234 exceeded: 100%"),
            "quota of user #<number> exceeded: <number>"
        );
        assert_eq!(template("order vm-1234 failed"), "order vm-<number> failed");
        assert_eq!(template("token deadbeef0042 expired"), "token <id> expired");
        assert_eq!(
            template("mail admin@example.com bounced"),
            "mail <address> bounced"
        );
        assert_eq!(
            template("GET https://panel.example.com/api?x=1 gave 503."),
            "GET <url> gave <number>."
        );
        assert_eq!(template("can't reach 'db1'"), "can't reach '<value>'");
        assert_eq!(template("«Иванов» не найден"), "«<value>» не найден");
    }

    #[test]
    fn words_without_variable_parts_stay_and_spaces_collapse() {
        assert_eq!(
            template("  Permission   denied\n(read-only file system)  "),
            "Permission denied (read-only file system)"
        );
        assert_eq!(template(""), "");
    }

    #[test]
    fn the_key_depends_on_module_type_and_template_only() {
        let a = fingerprint(3, "connect", "connect to 10.0.0.1:80 refused");
        let b = fingerprint(3, "connect", "connect to 10.9.9.9:8080 refused");
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.len(), 16);
        assert_ne!(a.sample, b.sample);
        assert_ne!(
            a.key,
            fingerprint(4, "connect", "connect to 10.0.0.1:80 refused").key
        );
        assert_ne!(
            a.key,
            fingerprint(3, "timeout", "connect to 10.0.0.1:80 refused").key
        );
        assert_ne!(
            a.key,
            fingerprint(3, "connect", "connect to 10.0.0.1:80 reset").key
        );
    }

    #[test]
    fn a_huge_message_is_cut_to_bounded_template_and_sample() {
        let message = "x".repeat(1 << 20);
        let mark = fingerprint(1, "module", &message);
        assert_eq!(mark.template.chars().count(), MAX_TEMPLATE_CHARS);
        assert_eq!(mark.sample.chars().count(), MAX_SAMPLE_CHARS);
    }
}
