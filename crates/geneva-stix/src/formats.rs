//! Value formats STIX 2.1 prescribes by reference to other standards: URIs
//! (RFC 3986), host names, e-mail addresses, IP and MAC addresses, language
//! tags (RFC 5646), CPE 2.3 names, media types and character-set names.
//!
//! Each is a hand-written checker: no regex engine, no allocation, linear time,
//! so hostile values cost what their length costs.

/// RFC 3986 `URI`: a scheme, a colon, then only characters a URI may contain,
/// with well-formed percent-escapes.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    if !sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return false;
    }
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
                {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' | b'!'
            | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// A DNS host name as STIX `domain-name` values need: labels of 1-63
/// characters (letters, digits, hyphens, or non-ASCII for internationalised
/// names), not starting or ending with a hyphen, 253 characters at most; one
/// trailing dot allowed.
pub fn is_hostname(s: &str) -> bool {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
            })
    })
}

/// The e-mail address shape STIX's schema uses: `local@domain.tld`.
pub fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let Some((first, rest)) = domain.split_once('.') else {
        return false;
    };
    !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'))
        && !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
}

/// Dotted-quad IPv4 with an optional CIDR prefix; no leading zeros.
pub fn is_ipv4_value(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let octets_ok = {
        let parts: Vec<&str> = addr.split('.').collect();
        parts.len() == 4
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.len() <= 3
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && (p.len() == 1 || !p.starts_with('0'))
                    && p.parse::<u16>().is_ok_and(|n| n <= 255)
            })
    };
    octets_ok && prefix.is_none_or(|p| is_prefix_len(p, 32))
}

/// IPv6 (any RFC 4291 text form, including embedded IPv4) with an optional
/// zone and CIDR prefix.
pub fn is_ipv6_value(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = addr
        .split_once('%')
        .map_or(addr, |(a, zone)| if zone.is_empty() { "" } else { a });
    addr.parse::<std::net::Ipv6Addr>().is_ok() && prefix.is_none_or(|p| is_prefix_len(p, 128))
}

fn is_prefix_len(p: &str, max: u8) -> bool {
    !p.is_empty()
        && p.len() <= 3
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u8>().is_ok_and(|n| n <= max)
}

/// MAC-48 / EUI-48 as STIX requires it: lower-case, colon-separated.
pub fn is_mac_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                *c == b':'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(c)
            }
        })
}

/// Well-formed RFC 5646 language tag (syntax of section 2.1, case-insensitive),
/// including private-use (`x-…`) and the irregular grandfathered tags' shape.
pub fn is_language_tag(s: &str) -> bool {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    let subtags: Vec<&str> = s.split('-').collect();
    if subtags.iter().any(|t| t.is_empty() || t.len() > 8) {
        return false;
    }
    let alpha = |t: &str| t.bytes().all(|b| b.is_ascii_alphabetic());
    let digit = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mut i = 0;
    if subtags[0].eq_ignore_ascii_case("x") || subtags[0].eq_ignore_ascii_case("i") {
        return subtags.len() > 1;
    }
    // language: 2-3 letters (+ up to three extlang of 3 letters), or 4-8 letters.
    let lang = subtags[0];
    if !(alpha(lang) && (2..=8).contains(&lang.len())) {
        return false;
    }
    i += 1;
    if lang.len() <= 3 {
        let mut ext = 0;
        while i < subtags.len() && ext < 3 && subtags[i].len() == 3 && alpha(subtags[i]) {
            i += 1;
            ext += 1;
        }
    }
    if i < subtags.len() && subtags[i].len() == 4 && alpha(subtags[i]) {
        i += 1; // script
    }
    if i < subtags.len()
        && ((subtags[i].len() == 2 && alpha(subtags[i]))
            || (subtags[i].len() == 3 && digit(subtags[i])))
    {
        i += 1; // region
    }
    while i < subtags.len()
        && ((subtags[i].len() >= 5)
            || (subtags[i].len() == 4 && subtags[i].as_bytes()[0].is_ascii_digit()))
    {
        i += 1; // variants
    }
    while i < subtags.len() && subtags[i].len() == 1 && !subtags[i].eq_ignore_ascii_case("x") {
        // extension: singleton followed by one or more 2-8 character subtags
        i += 1;
        let start = i;
        while i < subtags.len() && subtags[i].len() >= 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < subtags.len() && subtags[i].eq_ignore_ascii_case("x") {
        return i + 1 < subtags.len();
    }
    i == subtags.len()
}

/// CPE 2.3 formatted string binding (NISTIR 7695 section 6.2):
/// `cpe:2.3:` then 11 colon-separated components, `part` one of a, o, h, * or -.
pub fn is_cpe23(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("cpe:2.3:") else {
        return false;
    };
    let mut components = Vec::with_capacity(11);
    let mut current = String::new();
    let mut escaped = false;
    for ch in rest.chars() {
        if escaped {
            current.push(ch);
            escaped = false;
        } else if ch == '\\' {
            current.push(ch);
            escaped = true;
        } else if ch == ':' {
            components.push(std::mem::take(&mut current));
        } else if ch.is_whitespace() || !ch.is_ascii() {
            return false;
        } else {
            current.push(ch);
        }
    }
    components.push(current);
    components.len() == 11
        && !escaped
        && matches!(components[0].as_str(), "a" | "o" | "h" | "*" | "-")
        && components.iter().all(|c| !c.is_empty())
}

/// A media type `type/subtype` with a registered top-level type (RFC 6838).
pub fn is_media_type(s: &str) -> bool {
    let Some((top, sub)) = s.split_once('/') else {
        return false;
    };
    matches!(
        top,
        "application"
            | "audio"
            | "font"
            | "image"
            | "message"
            | "model"
            | "multipart"
            | "text"
            | "video"
    ) && !sub.is_empty()
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'-'))
}

/// An IANA character-set name's shape (RFC 2978): 1-40 printable ASCII characters, no spaces.
pub fn is_charset_name(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'+-^_`{}~.:/()".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for ok in [
            "http://example.com/a?b=c#d",
            "https://x.org/%20",
            "urn:isbn:0451450523",
            "mailto:a@b.c",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "example.com",
            "http://a b",
            "http://x/ü",
            "1http://x",
            "http://x/%2",
            "http://x/%zz",
            "",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn hosts_and_addresses() {
        assert!(
            is_hostname("example.com")
                && is_hostname("EXAMPLE.com.")
                && is_hostname("bücher.de")
                && is_hostname("1.2.3.4")
        );
        assert!(
            !is_hostname("a..b")
                && !is_hostname("-a.com")
                && !is_hostname("a_b.com")
                && !is_hostname(&"a".repeat(64))
        );
        assert!(is_ipv4_value("10.0.0.1") && is_ipv4_value("10.0.0.0/8"));
        assert!(
            !is_ipv4_value("10.0.0.01")
                && !is_ipv4_value("256.0.0.1")
                && !is_ipv4_value("1.2.3.4/33")
        );
        assert!(
            is_ipv6_value("::1")
                && is_ipv6_value("2001:db8::1/64")
                && is_ipv6_value("fe80::1%eth0")
                && is_ipv6_value("::ffff:1.2.3.4")
        );
        assert!(!is_ipv6_value("2001:db8::g") && !is_ipv6_value("::1/129"));
        assert!(
            is_mac_value("00:11:22:aa:bb:cc")
                && !is_mac_value("00-11-22-aa-bb-cc")
                && !is_mac_value("00:11:22:AA:BB:CC")
        );
        assert!(
            is_email_address("a.b+c@example.co.uk")
                && !is_email_address("no-at.example.com")
                && !is_email_address("a@b")
        );
    }

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "en-US",
            "en-us",
            "zh-Hant-TW",
            "es-419",
            "sl-rozaj-biske",
            "de-CH-1901",
            "x-private",
            "en-a-bbb-x-ccc",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "en_US", "123", "en--US", "en-x", "abcdefghi"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn cpe_names() {
        assert!(is_cpe23("cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*"));
        assert!(is_cpe23("cpe:2.3:o:vendor:prod\\:uct:1.0:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:/a:microsoft:word:2000"));
        assert!(!is_cpe23("cpe:2.3:x:microsoft:word:2000:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:2.3:a:microsoft:word"));
    }
}
