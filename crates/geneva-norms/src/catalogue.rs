//! The catalogue: the convention's norms as versioned data
//! (`catalogue.toml`, compiled in), checked when loaded: unique ids, every
//! norm citing a known source and article, every criterion parsing and
//! naming only known facts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::criteria::Expr;

/// The catalogue as shipped.
pub const CATALOGUE_TOML: &str = include_str!("../catalogue.toml");

/// Whom a norm binds, which decides who can breach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binds {
    /// States, for what their organs, proxies and hired companies do.
    States,
    /// States, for non-state actors operating from their territory.
    HostStates,
    /// Technology companies that signed the commitment.
    Companies,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNorm {
    id: String,
    title: String,
    summary: String,
    source: String,
    article: String,
    binds: Binds,
    #[serde(default)]
    applies: Option<String>,
    #[serde(default)]
    breach: Option<String>,
    #[serde(default)]
    at_all_times: bool,
    #[serde(default)]
    policy: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    version: String,
    sources: BTreeMap<String, Source>,
    norm: Vec<RawNorm>,
}

/// One norm, its criteria parsed.
#[derive(Debug, Clone, Serialize)]
pub struct Norm {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub source: String,
    pub article: String,
    pub binds: Binds,
    /// When the norm applies to an incident (beyond who acted and when).
    pub applies: Option<String>,
    /// What breaches it; `None` for norms about standing policy, which no
    /// single incident can breach (`policy` says why).
    pub breach: Option<String>,
    /// Applies in armed conflict too (otherwise peacetime only).
    pub at_all_times: bool,
    pub policy: Option<String>,
    #[serde(skip)]
    pub(crate) applies_expr: Option<Expr>,
    #[serde(skip)]
    pub(crate) breach_expr: Option<Expr>,
}

impl Norm {
    /// Every fact the norm's verdict can depend on, including who acted,
    /// when, and how sure the attribution is.
    pub fn reads(&self) -> BTreeSet<String> {
        let mut read = BTreeSet::new();
        if self.breach_expr.is_none() {
            return read;
        }
        read.insert("actor.type".to_owned());
        match self.binds {
            Binds::States => {
                read.insert("attribution.confidence".to_owned());
            }
            Binds::Companies => {
                read.insert("attribution.confidence".to_owned());
                read.insert("actor.tech-accord-signatory".to_owned());
            }
            Binds::HostStates => {}
        }
        if !self.at_all_times {
            read.insert("context".to_owned());
        }
        for e in [&self.applies_expr, &self.breach_expr]
            .into_iter()
            .flatten()
        {
            e.reads(&mut read);
        }
        read
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Catalogue {
    pub version: String,
    pub sources: BTreeMap<String, Source>,
    pub norms: Vec<Norm>,
}

/// What is wrong with a catalogue, naming the norm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue is not valid TOML: {0}")]
    Toml(String),
    #[error("norm id `{0}` appears more than once")]
    DuplicateId(String),
    #[error("norm `{id}`: {message}")]
    Norm { id: String, message: String },
}

impl Catalogue {
    /// The catalogue shipped with this build.
    pub fn shipped() -> Catalogue {
        // Checked by the crate's tests: a catalogue that fails to load
        // never ships.
        Catalogue::parse(CATALOGUE_TOML).unwrap_or_else(|e| panic!("shipped catalogue: {e}"))
    }

    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let raw: RawCatalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Toml(e.to_string()))?;
        let mut ids = BTreeSet::new();
        let mut norms = Vec::new();
        for n in raw.norm {
            if !ids.insert(n.id.clone()) {
                return Err(CatalogueError::DuplicateId(n.id));
            }
            let fail = |message: String| CatalogueError::Norm {
                id: n.id.clone(),
                message,
            };
            if !raw.sources.contains_key(&n.source) {
                return Err(fail(format!("source `{}` is not in [sources]", n.source)));
            }
            for (field, value) in [
                ("title", &n.title),
                ("summary", &n.summary),
                ("article", &n.article),
            ] {
                if value.trim().is_empty() {
                    return Err(fail(format!("`{field}` is empty")));
                }
            }
            let parse = |text: &Option<String>, field: &str| {
                text.as_deref()
                    .map(Expr::parse)
                    .transpose()
                    .map_err(|e| fail(format!("`{field}`: {e}")))
            };
            let applies_expr = parse(&n.applies, "applies")?;
            let breach_expr = parse(&n.breach, "breach")?;
            match (&breach_expr, &n.policy) {
                (None, None) => {
                    return Err(fail(
                        "has neither `breach` criteria nor a `policy` reason".into(),
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(fail(
                        "has both `breach` criteria and a `policy` reason".into(),
                    ));
                }
                (None, _) if applies_expr.is_some() => {
                    return Err(fail("has `applies` without `breach`".into()));
                }
                _ => {}
            }
            norms.push(Norm {
                id: n.id,
                title: n.title,
                summary: n.summary,
                source: n.source,
                article: n.article,
                binds: n.binds,
                applies: n.applies,
                breach: n.breach,
                at_all_times: n.at_all_times,
                policy: n.policy,
                applies_expr,
                breach_expr,
            });
        }
        Ok(Catalogue {
            version: raw.version,
            sources: raw.sources,
            norms,
        })
    }

    pub fn norm(&self, id: &str) -> Option<&Norm> {
        self.norms.iter().find(|n| n.id == id)
    }
}
