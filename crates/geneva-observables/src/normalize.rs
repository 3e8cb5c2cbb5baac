//! One spelling for each thing. Every function takes text as analysts and
//! attackers write it — defanged (`hxxp://evil[.]com`), upper case, with a
//! trailing dot, in Unicode — and returns the canonical form, or an error
//! saying why the text is not such a value.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{HashAlgo, Observable};

/// Longest text any normaliser looks at (URLs included).
pub const MAX_INPUT: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {what}: {reason}")]
pub struct NormalizeError {
    pub what: &'static str,
    pub input: String,
    pub reason: String,
}

fn error(what: &'static str, input: &str, reason: impl Into<String>) -> NormalizeError {
    let mut shown: String = input.chars().take(200).collect();
    if shown.len() < input.len() {
        shown.push('…');
    }
    NormalizeError {
        what,
        input: shown,
        reason: reason.into(),
    }
}

fn bounded<'a>(what: &'static str, input: &'a str) -> Result<&'a str, NormalizeError> {
    if input.len() > MAX_INPUT {
        return Err(error(what, input, format!("longer than {MAX_INPUT} bytes")));
    }
    Ok(input.trim())
}

/// Undoes the usual defanging: `hxxp`/`hxxps`/`fxp` schemes, `[.]`, `(.)`,
/// `{.}`, `[dot]`, `(dot)`, `[:]`, `[://]`, `[@]`, `[at]`, `(at)`, in any
/// letter case and nested (`[[.]]`).
///
/// The text is read once, left to right, and whenever what has been written
/// so far ends in a defanging token the token is replaced. No replacement
/// ends in a closing bracket, so no token survives: refanging refanged text
/// changes nothing, which normalised keys rely on.
pub fn defang(input: &str) -> String {
    const TOKENS: [(&str, &str); 11] = [
        ("[://]", "://"),
        ("[:]", ":"),
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("{dot}", "."),
        ("[@]", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
    ];
    let mut out = String::with_capacity(input.len());
    for c in input.trim().chars() {
        out.push(c);
        if !matches!(c, ']' | ')' | '}') {
            continue;
        }
        for (token, replacement) in TOKENS {
            let tail = out.len().checked_sub(token.len());
            if let Some(start) = tail
                && out.is_char_boundary(start)
                && out[start..].eq_ignore_ascii_case(token)
            {
                out.truncate(start);
                out.push_str(replacement);
                break;
            }
        }
    }
    for (from, to) in [
        ("hxxps://", "https://"),
        ("hxxp://", "http://"),
        ("fxp://", "ftp://"),
    ] {
        if out
            .get(..from.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(from))
        {
            out = format!("{to}{}", &out[from.len()..]);
        }
    }
    out
}

/// An IP address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4, IPv6 is
/// written as RFC 5952 says. Leading zeros in IPv4 octets are refused: some
/// tools read `010` as octal, others as decimal.
pub fn ip(input: &str) -> Result<Observable, NormalizeError> {
    let text = defang(bounded("IP address", input)?);
    let text = text.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = text
        .parse()
        .map_err(|_| error("IP address", input, "not an IPv4 or IPv6 address"))?;
    Ok(match addr {
        IpAddr::V4(a) => Observable::Ipv4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => Observable::Ipv4(v4),
            None => Observable::Ipv6(a),
        },
    })
}

/// An address or a CIDR range. Host bits are cleared (`10.1.2.3/8` is
/// `10.0.0.0/8`); a full-length prefix is the address itself.
pub fn cidr(input: &str) -> Result<Observable, NormalizeError> {
    let text = defang(bounded("CIDR range", input)?);
    let Some((addr, prefix)) = text.split_once('/') else {
        return ip(&text);
    };
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| error("CIDR range", input, "the prefix length is not a number"))?;
    match ip(addr)? {
        Observable::Ipv4(a) => {
            if prefix > 32 {
                return Err(error("CIDR range", input, "an IPv4 prefix is at most 32"));
            }
            if prefix == 32 {
                return Ok(Observable::Ipv4(a));
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            Ok(Observable::Ipv4Net(
                Ipv4Addr::from(u32::from(a) & mask),
                prefix,
            ))
        }
        Observable::Ipv6(a) => {
            if prefix > 128 {
                return Err(error("CIDR range", input, "an IPv6 prefix is at most 128"));
            }
            if prefix == 128 {
                return Ok(Observable::Ipv6(a));
            }
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            Ok(Observable::Ipv6Net(
                Ipv6Addr::from(u128::from(a) & mask),
                prefix,
            ))
        }
        _ => unreachable!("ip() returns addresses"),
    }
}

/// Whether a network contains an address.
pub fn contains(net: &Observable, addr: &Observable) -> bool {
    match (net, addr) {
        (Observable::Ipv4Net(n, p), Observable::Ipv4(a)) => {
            let mask = if *p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(*a) & mask == u32::from(*n)
        }
        (Observable::Ipv6Net(n, p), Observable::Ipv6(a)) => {
            let mask = if *p == 0 { 0 } else { u128::MAX << (128 - p) };
            u128::from(*a) & mask == u128::from(*n)
        }
        _ => false,
    }
}

/// A domain name: IDNA (UTS 46) to ASCII, lower case, without a trailing
/// dot; labels of 1 to 63 letters, digits, `-` or `_`, 253 bytes in all.
pub fn domain(input: &str) -> Result<String, NormalizeError> {
    let text = defang(bounded("domain name", input)?);
    let text = text.strip_suffix('.').unwrap_or(&text);
    if text.is_empty() {
        return Err(error("domain name", input, "it is empty"));
    }
    if text.parse::<IpAddr>().is_ok() {
        return Err(error("domain name", input, "it is an IP address"));
    }
    let ascii = idna::domain_to_ascii(text)
        .map_err(|_| error("domain name", input, "IDNA processing refuses it"))?;
    if ascii.is_empty() || ascii.len() > 253 {
        return Err(error(
            "domain name",
            input,
            "a domain name is 1 to 253 bytes",
        ));
    }
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(error(
                "domain name",
                input,
                "each label is 1 to 63 characters",
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(error(
                "domain name",
                input,
                format!("label {label:?} has a character domains do not"),
            ));
        }
    }
    // RFC 3696 §2: a top-level domain is never all digits (and URL parsers
    // take such a host for an IPv4 address).
    if ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(error(
            "domain name",
            input,
            "the top-level label is all digits",
        ));
    }
    Ok(ascii)
}

/// The registrable domain ("eTLD+1") of a normalised domain, by the public
/// suffix list: `www.example.co.uk` → `example.co.uk`. `None` for a bare
/// public suffix (`co.uk`).
pub fn registrable_domain(domain: &str) -> Option<String> {
    psl::domain_str(domain).map(str::to_owned)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §6.2.2 on a path, query or similar: percent-encodings of
/// unreserved characters decoded, the others with upper-case hex.
fn normalize_percent(part: &str) -> String {
    let bytes = part.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let value = hi * 16 + lo;
            if is_unreserved(value) {
                out.push(value);
            } else {
                out.push(b'%');
                out.push(bytes[i + 1].to_ascii_uppercase());
                out.push(bytes[i + 2].to_ascii_uppercase());
            }
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    // Only ASCII was replaced by ASCII, so what was UTF-8 still is.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A URL, normalised as RFC 3986 §6.2.2–6.2.3 says (and WHATWG parsing does):
/// scheme and host in lower case, the host as a normalised domain or IP, the
/// default port and the fragment dropped, dot segments removed, an empty path
/// written `/`, percent-encodings of unreserved characters decoded and the
/// rest in upper-case hex. Defanged input is accepted.
pub fn url(input: &str) -> Result<String, NormalizeError> {
    // Decoding `%2E` or a defanged host can make a form that normalises
    // further (`/a/%2E%2E/b`, `(%2E)`); a key must read back as itself, so
    // normalise until the text settles.
    let mut text = url_once(input, bounded("URL", input)?)?;
    for _ in 0..4 {
        let again = url_once(input, &text)?;
        if again == text {
            return Ok(text);
        }
        text = again;
    }
    Err(error("URL", input, "it does not settle to one normal form"))
}

fn url_once(input: &str, text: &str) -> Result<String, NormalizeError> {
    let text = defang(text);
    let mut parsed = url::Url::parse(&text).map_err(|e| error("URL", input, e.to_string()))?;
    if parsed.cannot_be_a_base() {
        return Err(error("URL", input, "it has no authority (scheme://host/…)"));
    }
    parsed.set_fragment(None);
    if let Some(host) = parsed.host_str().map(str::to_owned) {
        let trimmed = host.trim_end_matches('.');
        if trimmed != host && !trimmed.is_empty() {
            parsed
                .set_host(Some(trimmed))
                .map_err(|e| error("URL", input, e.to_string()))?;
        }
    }
    let path = normalize_percent(parsed.path());
    parsed.set_path(&path);
    if let Some(query) = parsed.query().map(normalize_percent) {
        parsed.set_query(Some(&query));
    }
    Ok(parsed.to_string())
}

/// The host of a normalised URL, as an observable (a domain or an address).
pub fn url_host(normalized_url: &str) -> Option<Observable> {
    let parsed = url::Url::parse(normalized_url).ok()?;
    match parsed.host()? {
        url::Host::Domain(d) => domain(d).ok().map(Observable::Domain),
        url::Host::Ipv4(a) => Some(Observable::Ipv4(a)),
        url::Host::Ipv6(a) => Some(match a.to_ipv4_mapped() {
            Some(v4) => Observable::Ipv4(v4),
            None => Observable::Ipv6(a),
        }),
    }
}

/// An e-mail address: the local part as written (it may be case-sensitive),
/// the domain normalised.
pub fn email(input: &str) -> Result<String, NormalizeError> {
    let text = defang(bounded("e-mail address", input)?);
    let (local, host) = text
        .rsplit_once('@')
        .ok_or_else(|| error("e-mail address", input, "it has no @"))?;
    if local.is_empty()
        || local.len() > 64
        || local.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(error(
            "e-mail address",
            input,
            "the local part is empty, too long or has spaces",
        ));
    }
    let host = domain(host).map_err(|e| error("e-mail address", input, e.reason))?;
    Ok(format!("{local}@{host}"))
}

/// A file hash of a known algorithm: lower-case hex of the right length.
pub fn file_hash(algo: HashAlgo, input: &str) -> Result<String, NormalizeError> {
    let text = bounded("file hash", input)?.to_ascii_lowercase();
    if text.len() != algo.hex_len() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            "file hash",
            input,
            format!("{} is {} hex digits", algo.as_str(), algo.hex_len()),
        ));
    }
    Ok(text)
}

/// An ssdeep digest `blocksize:hash1:hash2` (base64 alphabet, a block size
/// of 3·2ⁿ).
pub fn ssdeep(input: &str) -> Result<String, NormalizeError> {
    let text = bounded("ssdeep digest", input)?;
    let mut parts = text.splitn(3, ':');
    let (Some(size), Some(h1), Some(h2)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(error("ssdeep digest", input, "it is blocksize:hash1:hash2"));
    };
    let size: u64 = size
        .parse()
        .map_err(|_| error("ssdeep digest", input, "the block size is not a number"))?;
    if size < 3 || !size.is_multiple_of(3) || !(size / 3).is_power_of_two() {
        return Err(error(
            "ssdeep digest",
            input,
            "the block size is 3 times a power of two",
        ));
    }
    let b64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    };
    if h1.len() > 64 || h2.len() > 64 || !b64(h1) || !b64(h2) {
        return Err(error(
            "ssdeep digest",
            input,
            "the hashes are up to 64 base64 characters",
        ));
    }
    Ok(format!("{size}:{h1}:{h2}"))
}

/// A TLSH digest: 70 hex digits, with or without the `T1` version prefix
/// (always written with it, upper case).
pub fn tlsh(input: &str) -> Result<String, NormalizeError> {
    let text = bounded("TLSH digest", input)?.to_ascii_uppercase();
    let body = text.strip_prefix("T1").unwrap_or(&text);
    if body.len() != 70 || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error("TLSH digest", input, "it is T1 and 70 hex digits"));
    }
    Ok(format!("T1{body}"))
}

/// A MAC address in any of `aa:bb:…`, `aa-bb-…`, `aabb.ccdd.eeff`, `aabbccddeeff`.
pub fn mac(input: &str) -> Result<[u8; 6], NormalizeError> {
    let text = bounded("MAC address", input)?;
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error("MAC address", input, "it is six bytes of hex"));
    }
    let mut out = [0u8; 6];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(out)
}

/// A Windows registry key: hive abbreviations spelled out, lower case (keys
/// are case-insensitive), no trailing backslash.
pub fn registry_key(input: &str) -> Result<String, NormalizeError> {
    let text = bounded("registry key", input)?.trim_end_matches('\\');
    if text.is_empty() {
        return Err(error("registry key", input, "it is empty"));
    }
    let (hive, rest) = text.split_once('\\').unwrap_or((text, ""));
    let hive = match hive.to_ascii_uppercase().as_str() {
        "HKLM" => "HKEY_LOCAL_MACHINE".to_owned(),
        "HKCU" => "HKEY_CURRENT_USER".to_owned(),
        "HKCR" => "HKEY_CLASSES_ROOT".to_owned(),
        "HKU" => "HKEY_USERS".to_owned(),
        "HKCC" => "HKEY_CURRENT_CONFIG".to_owned(),
        other => other.to_owned(),
    };
    let key = if rest.is_empty() {
        hive
    } else {
        format!("{hive}\\{rest}")
    };
    Ok(key.to_lowercase())
}

/// An X.509 serial number: lower-case hex, separators and leading zeros removed.
pub fn x509_serial(input: &str) -> Result<String, NormalizeError> {
    let text = bounded("certificate serial", input)?;
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    let hex = hex.strip_prefix("0x").unwrap_or(&hex);
    if hex.is_empty() || hex.len() > 128 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            "certificate serial",
            input,
            "it is up to 64 bytes of hex",
        ));
    }
    let trimmed = hex.trim_start_matches('0');
    Ok(if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.to_owned()
    })
}
