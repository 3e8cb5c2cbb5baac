//! Outgoing requests that cannot be turned against the body's own network:
//! every address the host resolves to is checked, the first allowed one is
//! pinned (no second lookup for DNS rebinding to change), and redirects are
//! followed only on the same host, five at most.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::PullError;

/// A checked base URL and a client bound to it.
#[derive(Debug, Clone)]
pub struct Target {
    pub base: reqwest::Url,
    pub client: reqwest::Client,
}

/// Addresses no outgoing request should reach unless the operator says so.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT; 0.0.0.0/8.
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64)
                || a.octets()[0] == 0
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Checks `url` (http or https, a host, no credentials in it), resolves its
/// host, and returns a client pinned to an allowed address.
pub async fn connect(
    url: &str,
    allow_internal: bool,
    credentials: Option<(String, String)>,
) -> Result<Target, PullError> {
    let base = reqwest::Url::parse(url)
        .map_err(|e| PullError::Refused(format!("{url:.200} is not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(PullError::Refused(format!(
            "{url:.200}: only http and https are spoken"
        )));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(PullError::Refused(
            "put credentials in --user and the password option, not in the URL".into(),
        ));
    }
    let host = base
        .host_str()
        .ok_or_else(|| PullError::Refused(format!("{url:.200} has no host")))?
        .to_owned();
    let port = base.port_or_known_default().unwrap_or(443);
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|e| PullError::Unreachable(format!("cannot resolve {host}: {e}")))?
        .collect();
    let allowed = addresses
        .iter()
        .find(|a| allow_internal || !is_internal(a.ip()))
        .copied()
        .ok_or_else(|| {
            PullError::Refused(format!(
                "{host} resolves only to private, loopback or link-local addresses \
                 ({addresses:?}); allow them explicitly if this server is meant to reach it"
            ))
        })?;
    let same_host = host.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("more than five redirects")
        } else if attempt.url().host_str() != Some(same_host.as_str()) {
            attempt.error("a redirect to another host")
        } else {
            attempt.follow()
        }
    });
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static(geneva_taxii::TAXII_MEDIA_TYPE),
    );
    if let Some((user, password)) = credentials {
        use base64::Engine as _;
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
            PullError::Refused("the credentials hold characters a header cannot".into())
        })?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let client = reqwest::Client::builder()
        .resolve(&lookup_host, allowed)
        .redirect(policy)
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| PullError::Unreachable(e.to_string()))?;
    Ok(Target { base, client })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let refused = connect("http://127.0.0.1:9/taxii2/", false, None).await;
        assert!(matches!(refused, Err(PullError::Refused(_))));
        assert!(
            connect("http://127.0.0.1:9/taxii2/", true, None)
                .await
                .is_ok()
        );
        assert!(matches!(
            connect("file:///etc/passwd", true, None).await,
            Err(PullError::Refused(_))
        ));
        assert!(matches!(
            connect("http://user:secret@127.0.0.1/", true, None).await,
            Err(PullError::Refused(_))
        ));
    }
}
