//! API tokens: `gva_<id>_<secret>`.
//!
//! The prefix makes a leaked token recognisable to secret scanners; the id
//! (12 hex digits, public) finds the stored record without scanning; the
//! secret is 256 random bits, shown once and stored only as its SHA-256 (a
//! fast hash is right here: the secret has full entropy, so there is nothing
//! to brute-force offline). Verification compares hashes in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "gva_";
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// The public part of a token: names it in lists, logs and revocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(String);

impl TokenId {
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        if s.len() == ID_BYTES * 2
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(TokenId(s.to_owned()))
        } else {
            Err(TokenError::Malformed)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 of a token's secret: all the store keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &hex::encode(self.0)[..8])
    }
}

impl TokenHash {
    /// Constant-time comparison: how long it takes says nothing about how much matched.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// A token as presented by a client, split into its parts.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    secret: String,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken({PREFIX}{}_…)", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a Geneva token (expected gva_<id>_<secret>)")]
    Malformed,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

impl ApiToken {
    /// A new token from the operating system's random source.
    pub fn generate() -> Result<ApiToken, TokenError> {
        let mut id = [0u8; ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut id).map_err(|e| TokenError::Random(e.to_string()))?;
        getrandom::fill(&mut secret).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(ApiToken {
            id: TokenId(hex::encode(id)),
            secret: URL_SAFE_NO_PAD.encode(secret),
        })
    }

    /// Parses `gva_<id>_<secret>`; anything else is malformed.
    pub fn parse(text: &str) -> Result<ApiToken, TokenError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(TokenError::Malformed)?;
        let (id, secret) = rest.split_once('_').ok_or(TokenError::Malformed)?;
        let id = TokenId::parse(id)?;
        let decoded = URL_SAFE_NO_PAD
            .decode(secret)
            .map_err(|_| TokenError::Malformed)?;
        if decoded.len() != SECRET_BYTES {
            return Err(TokenError::Malformed);
        }
        Ok(ApiToken {
            id,
            secret: secret.to_owned(),
        })
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.secret.as_bytes()).into())
    }

    /// The full token text: shown to its owner once, never stored.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_verify() {
        let t = ApiToken::generate().unwrap();
        let text = t.reveal();
        assert!(
            text.starts_with("gva_") && text.len() == 4 + 12 + 1 + 43,
            "{text}"
        );
        let parsed = ApiToken::parse(&text).unwrap();
        assert_eq!(parsed, t);
        assert!(parsed.hash().matches(&t.hash()));
        let other = ApiToken::generate().unwrap();
        assert!(!other.hash().matches(&t.hash()));
        assert_ne!(other.id, t.id);
    }

    #[test]
    fn secrets_with_underscores_parse() {
        // base64url has '_' in its alphabet: a secret may begin with it and
        // hold it anywhere (all ones encode as "___…_w").
        let secret = URL_SAFE_NO_PAD.encode([0xff; SECRET_BYTES]);
        assert!(secret.starts_with("__"), "{secret}");
        let text = format!("{PREFIX}0123456789ab_{secret}");
        let parsed = ApiToken::parse(&text).unwrap();
        assert_eq!(parsed.secret, secret);
        assert_eq!(parsed.reveal(), text);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = ApiToken::generate().unwrap().reveal();
        for bad in [
            "",
            "gva_",
            "ghp_abcdef",
            &good[..good.len() - 1],
            &good.replace("gva_", "gvb_"),
            &format!("{good}A"),
            "gva_ABCDEF012345_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "gva_0123456789ab_!!!!",
        ] {
            assert!(ApiToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let t = ApiToken::generate().unwrap();
        let shown = format!("{t:?} {:?}", t.hash());
        assert!(!shown.contains(&t.reveal()[17..]), "{shown}");
    }
}
