//! The catalogue as shipped is well formed, and a malformed one is refused
//! naming the norm and the rule.

use std::collections::BTreeSet;

use geneva_norms::catalogue::Binds;
use geneva_norms::facts::FACTS;
use geneva_norms::{Catalogue, CatalogueError};

#[test]
fn the_shipped_catalogue_is_complete_and_consistent() {
    let catalogue = Catalogue::parse(geneva_norms::catalogue::CATALOGUE_TOML).unwrap();
    let ids: BTreeSet<&str> = catalogue.norms.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), catalogue.norms.len(), "ids are unique");
    let count = |prefix: &str| ids.iter().filter(|i| i.starts_with(prefix)).count();
    assert_eq!(
        count("ms-rsa-"),
        6,
        "the six commitments of the RSA keynote"
    );
    assert_eq!(count("ms-art-"), 9, "the articles of the policy paper");
    assert_eq!(count("gge-2015-"), 11, "the UN GGE norms (a)-(k)");
    assert_eq!(count("paris-"), 9, "the Paris Call's nine principles");
    assert_eq!(
        count("tech-accord-"),
        4,
        "the Tech Accord's four commitments"
    );
    let known: BTreeSet<&str> = FACTS.iter().map(|(n, _, _)| *n).collect();
    for norm in &catalogue.norms {
        let source = &catalogue.sources[&norm.source];
        assert!(!source.title.is_empty(), "{}: cites its source", norm.id);
        assert!(!norm.article.is_empty(), "{}: cites its article", norm.id);
        for fact in norm.reads() {
            assert!(known.contains(fact.as_str()), "{}: reads {fact}", norm.id);
        }
        if norm.binds == Binds::Companies {
            assert!(norm.id.starts_with("tech-accord-"), "{}", norm.id);
        }
    }
    // Norms about an incident's conduct exist for each source that has them.
    for prefix in ["ms-rsa-", "ms-art-", "gge-2015-", "paris-", "tech-accord-"] {
        assert!(
            catalogue
                .norms
                .iter()
                .any(|n| n.id.starts_with(prefix) && n.breach.is_some()),
            "{prefix}"
        );
    }
}

#[test]
fn malformed_catalogues_are_refused_with_the_norm_and_the_rule() {
    let head = "version = \"t\"\n[sources.s]\ntitle = \"S\"\n";
    let norm = |id: &str, extra: &str| {
        format!(
            "[[norm]]\nid = \"{id}\"\ntitle = \"T\"\nsummary = \"S\"\nsource = \"s\"\narticle = \"1\"\nbinds = \"states\"\n{extra}\n"
        )
    };
    let cases = [
        (
            format!(
                "{head}{}{}",
                norm("a", "breach = \"effect.espionage\""),
                norm("a", "breach = \"effect.espionage\"")
            ),
            "appears more than once",
        ),
        (
            format!("{head}{}", norm("a", "breach = \"effect.spying\"")),
            "`effect.spying` is not a known fact",
        ),
        (
            format!("{head}{}", norm("a", "breach = \"actor.type\"")),
            "test it with `in [...]`",
        ),
        (
            format!("{head}{}", norm("a", "breach = \"actor.type in [pirate]\"")),
            "`pirate` is not a value of `actor.type`",
        ),
        (
            format!("{head}{}", norm("a", "breach = \"scale.countries\"")),
            "is a count",
        ),
        (
            format!("{head}{}", norm("a", "breach = \"(effect.espionage\"")),
            "expected `)`",
        ),
        (
            format!("{head}{}", norm("a", "")),
            "neither `breach` criteria nor a `policy`",
        ),
        (
            format!(
                "{head}{}",
                norm("a", "breach = \"effect.espionage\"\npolicy = \"p\"")
            ),
            "both",
        ),
        (
            format!(
                "{head}{}",
                norm("a", "breach = \"effect.espionage\"")
                    .replace("source = \"s\"", "source = \"nowhere\"")
            ),
            "source `nowhere` is not in [sources]",
        ),
        (
            format!(
                "{head}{}",
                norm("a", "breach = \"effect.espionage\"")
                    .replace("article = \"1\"", "article = \" \"")
            ),
            "`article` is empty",
        ),
        ("not toml [".to_owned(), "not valid TOML"),
    ];
    for (text, expected) in cases {
        let err = Catalogue::parse(&text).unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "{err} does not say {expected}"
        );
        if !matches!(
            err,
            CatalogueError::Toml(_) | CatalogueError::DuplicateId(_)
        ) {
            assert!(err.to_string().contains("norm `a`"), "{err} names the norm");
        }
    }
}
