//! `geneva demo`: a realistic scenario in a fresh data directory, then the
//! server, so a new user sees a living portal with one command. The
//! incidents are the sixteen public ones the norm tests hold (real events,
//! encoded from public sources); the members, the panel and its votes are
//! synthetic. Six cases are decided and published, one is left in review.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
use geneva_analysis::cases::{self, NewCase, NewDraft, Who};
use geneva_store::{Provenance, Recipients, TokenRecord, Viewer};
use serde_json::{Value, json};

use super::open_store;

const INCIDENTS: &[(&str, &str)] = &[
    (
        "bundestag-2015",
        include_str!("../../../geneva-norms/fixtures/bundestag-2015.json"),
    ),
    (
        "cloud-hopper-2016",
        include_str!("../../../geneva-norms/fixtures/cloud-hopper-2016.json"),
    ),
    (
        "colonial-pipeline-2021",
        include_str!("../../../geneva-norms/fixtures/colonial-pipeline-2021.json"),
    ),
    (
        "dnc-2016",
        include_str!("../../../geneva-norms/fixtures/dnc-2016.json"),
    ),
    (
        "exchange-hafnium-2021",
        include_str!("../../../geneva-norms/fixtures/exchange-hafnium-2021.json"),
    ),
    (
        "notpetya-2017",
        include_str!("../../../geneva-norms/fixtures/notpetya-2017.json"),
    ),
    (
        "olympic-destroyer-2018",
        include_str!("../../../geneva-norms/fixtures/olympic-destroyer-2018.json"),
    ),
    (
        "operation-aurora-2009",
        include_str!("../../../geneva-norms/fixtures/operation-aurora-2009.json"),
    ),
    (
        "shamoon-2012",
        include_str!("../../../geneva-norms/fixtures/shamoon-2012.json"),
    ),
    (
        "solarwinds-2020",
        include_str!("../../../geneva-norms/fixtures/solarwinds-2020.json"),
    ),
    (
        "sony-pictures-2014",
        include_str!("../../../geneva-norms/fixtures/sony-pictures-2014.json"),
    ),
    (
        "stuxnet-2010",
        include_str!("../../../geneva-norms/fixtures/stuxnet-2010.json"),
    ),
    (
        "triton-2017",
        include_str!("../../../geneva-norms/fixtures/triton-2017.json"),
    ),
    (
        "ukraine-grid-2015",
        include_str!("../../../geneva-norms/fixtures/ukraine-grid-2015.json"),
    ),
    (
        "viasat-ka-sat-2022",
        include_str!("../../../geneva-norms/fixtures/viasat-ka-sat-2022.json"),
    ),
    (
        "wannacry-2017",
        include_str!("../../../geneva-norms/fixtures/wannacry-2017.json"),
    ),
];

/// Member organisations that report incidents.
const REPORTERS: &[(&str, &str)] = &[("CERT-UA", "UA"), ("NCSC-GB", "GB"), ("CERT-FR", "FR")];
/// The panel: one expert from each of seven states.
const PANEL: &[(&str, &str)] = &[
    ("amelie", "CH"),
    ("bernd", "DE"),
    ("chloe", "FR"),
    ("daichi", "JP"),
    ("eduardo", "BR"),
    ("faith", "KE"),
    ("gunnar", "NO"),
];
/// Incidents decided and published, and the one still in review.
const PUBLISHED: &[&str] = &[
    "ukraine-grid-2015",
    "notpetya-2017",
    "wannacry-2017",
    "solarwinds-2020",
    "triton-2017",
    "cloud-hopper-2016",
];
const IN_REVIEW: &str = "stuxnet-2010";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Load the scenario and stop, without serving.
    #[arg(long)]
    no_serve: bool,
    #[command(flatten)]
    serve: super::serve::Args,
}

fn who() -> Who {
    Who {
        name: "demo".into(),
        actor: "geneva demo".into(),
        channel: "cli",
    }
}

pub async fn run(data: &super::StoreLocation, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(data, true).await?;
    if !store.cases().await?.is_empty() || !store.organisations().await?.is_empty() {
        bail!(
            "the demo loads into a fresh data directory; this one holds data already (use --data DIR)"
        );
    }
    let now = geneva_stix::timestamp::now_rfc3339();
    for (name, country) in REPORTERS {
        store
            .add_organisation(name, OrgKind::State, Some(country.parse()?))
            .await?;
    }
    for (user, country) in PANEL {
        let org = store
            .add_organisation(
                &format!("panel-{user}"),
                OrgKind::State,
                Some(country.parse()?),
            )
            .await?;
        store.add_user(user, org.id).await?;
    }
    let mut subject_of = std::collections::BTreeMap::new();
    for (i, (name, text)) in INCIDENTS.iter().enumerate() {
        let fixture: Value = serde_json::from_str(text).with_context(|| name.to_string())?;
        let (reporter, _) = REPORTERS[i % REPORTERS.len()];
        let org = store.organisation(reporter).await?;
        let prepared = geneva_stix::prepare(
            fixture["bundle"].to_string().as_bytes(),
            &geneva_stix::PrepareOptions::default(),
        )
        .map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
        store
            .import(
                prepared.objects,
                Provenance {
                    organisation: reporter.to_string(),
                    organisation_id: org.map(|o| o.id),
                    submitted_at: now.clone(),
                    default_tlp: geneva_stix::Tlp::Clear,
                    recipients: Recipients::default(),
                },
            )
            .await?;
        let id = fixture["bundle"]["objects"]
            .as_array()
            .and_then(|o| o.iter().find(|o| o["type"] == "incident"))
            .and_then(|o| o["id"].as_str())
            .unwrap_or_default()
            .to_owned();
        subject_of.insert(
            *name,
            (id, fixture["incident"].as_str().unwrap_or(name).to_owned()),
        );
    }
    // Two members' own reports (synthetic, TLP:GREEN) that share a lure
    // domain and a server, so the workspace shows correlations.
    for (i, (reporter, name)) in [
        (
            "CERT-FR",
            "Member report: spear-phishing of grid operators (synthetic)",
        ),
        (
            "NCSC-GB",
            "Member report: credential theft at a water utility (synthetic)",
        ),
    ]
    .iter()
    .enumerate()
    {
        let org = store.organisation(reporter).await?;
        let incident = format!("incident--d3e0c0de-0000-4000-8000-00000000000{i}");
        let bundle = json!({"type": "bundle", "id": format!("bundle--d3e0c0de-0000-4000-8000-00000000001{i}"), "objects": [
            {"type": "domain-name", "spec_version": "2.1", "id": "domain-name--d3e0c0de-0000-5000-8000-000000000020",
             "value": "grid-operator-login.example"},
            {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--d3e0c0de-0000-5000-8000-000000000021",
             "value": "203.0.113.66"},
            {"type": "incident", "spec_version": "2.1", "id": incident, "created": now, "modified": now,
             "name": name, "description": "A synthetic member report for the demonstration.",
             "object_refs": ["domain-name--d3e0c0de-0000-5000-8000-000000000020",
                             "ipv4-addr--d3e0c0de-0000-5000-8000-000000000021"]},
        ]});
        let prepared = geneva_stix::prepare(
            bundle.to_string().as_bytes(),
            &geneva_stix::PrepareOptions::default(),
        )
        .map_err(|e| anyhow::anyhow!("synthetic report {i}: {e:?}"))?;
        store
            .import(
                prepared.objects,
                Provenance {
                    organisation: reporter.to_string(),
                    organisation_id: org.map(|o| o.id),
                    submitted_at: now.clone(),
                    default_tlp: geneva_stix::Tlp::Green,
                    recipients: Recipients::default(),
                },
            )
            .await?;
    }
    let log = super::log::open_log(data, Arc::clone(&store), true).await?;
    super::log::integrate_or_explain(&log, true).await?;
    drop(log);

    let who = who();
    let panel: Vec<String> = PANEL.iter().map(|(u, _)| u.to_string()).collect();
    let catalogue = geneva_norms::Catalogue::shipped();
    for name in PUBLISHED.iter().chain([&IN_REVIEW]) {
        let (subject, title) = subject_of[name].clone();
        let file = cases::open(
            store.as_ref(),
            &Viewer::Operator,
            &who,
            NewCase {
                title: title.clone(),
                subjects: vec![subject.clone()],
                ..NewCase::default()
            },
        )
        .await?;
        let case = file.case.id.clone();
        let file = cases::assign(store.as_ref(), &who, &case, &panel).await?;
        cases::transition(store.as_ref(), &who, &case, "analysis", &now, None).await?;
        let Some((_, facts)) = cases::subject_facts(store.as_ref(), &subject).await? else {
            bail!("{subject} vanished");
        };
        let analysis = cases::analysis(&catalogue, &subject, facts.clone(), None, &now);
        cases::attach_analyses(store.as_ref(), &who, &case, vec![analysis]).await?;
        cases::note(
            store.as_ref(),
            &who,
            &case,
            "Assessment attached; the attribution follows the public statements cited in the sources.",
            &now,
        )
        .await?;
        let confidence = facts
            .choice("attribution.confidence")
            .unwrap_or("moderate")
            .to_owned();
        let probability = match confidence.as_str() {
            "high" => 0.9,
            "moderate" => 0.7,
            _ => 0.5,
        };
        cases::draft(
            store.as_ref(),
            &who,
            &case,
            NewDraft {
                title: title.clone(),
                sponsor: facts.attributed_state.clone(),
                probability,
                confidence,
                ..NewDraft::default()
            },
            &now,
        )
        .await?;
        cases::transition(store.as_ref(), &who, &case, "review", &now, None).await?;
        if *name == IN_REVIEW {
            continue;
        }
        cases::transition(store.as_ref(), &who, &case, "vote", &now, None).await?;
        let recused: Vec<&str> = file.recusals.iter().map(|r| r.member.as_str()).collect();
        for (i, member) in panel.iter().enumerate() {
            if recused.contains(&member.as_str()) {
                continue;
            }
            let (opinion, why) = if i == PANEL.len() - 1 {
                (
                    "disagree",
                    Some("The public record does not exclude a false flag.".to_owned()),
                )
            } else {
                ("agree", None)
            };
            let (_, to_store) =
                cases::vote(store.as_ref(), &who, &case, member, opinion, why, &now).await?;
            super::case::store_objects(data, &store, to_store).await?;
        }
        super::case::publish(data, &store, &who, &case, &now).await?;
    }
    println!(
        "demo loaded: {} incidents, {} published findings, 1 case in review",
        INCIDENTS.len(),
        PUBLISHED.len()
    );
    // Tokens to sign in to the workspace with: a panel member who is also
    // an operator, and a reporting member. Shown once, as `geneva token
    // create` shows them.
    for (org, user, scopes) in [
        (
            "panel-amelie",
            Some("amelie"),
            &[
                Scope::Read,
                Scope::Submit,
                Scope::Analyse,
                Scope::Vote,
                Scope::Admin,
            ][..],
        ),
        ("CERT-UA", None, &[Scope::Read, Scope::Submit][..]),
    ] {
        let organisation = store
            .organisation(org)
            .await?
            .with_context(|| format!("{org} vanished"))?;
        let user_id = match user {
            Some(u) => store.user(u).await?.map(|u| u.id),
            None => None,
        };
        let token = ApiToken::generate()?;
        store
            .add_token(
                &TokenRecord {
                    id: token.id.clone(),
                    organisation: organisation.id,
                    user: user_id,
                    scopes: Scopes::new(scopes.iter().copied()),
                    label: "geneva demo".into(),
                    created_at: now.clone(),
                    revoked_at: None,
                },
                token.hash(),
            )
            .await?;
        println!(
            "workspace sign-in for {} ({}): {}",
            user.unwrap_or(org),
            Scopes::new(scopes.iter().copied()),
            token.reveal()
        );
    }
    drop(store);
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    super::serve::run(data, args.serve).await
}
