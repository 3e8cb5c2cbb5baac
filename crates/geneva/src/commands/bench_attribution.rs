//! `geneva bench attribution --kb ATTACK.json`: the attribution engine's
//! accuracy and calibration on the knowledge base's own attributed campaigns
//! (leave one out), on the reports it cites for groups' uses (leave one
//! out) and on hidden subsets of groups' repertoires, next to two
//! baselines computed in the same run, and its speed (knowledge-base read,
//! model fitting, one attribution).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use geneva_attribution::Attributor;
use geneva_attribution::evaluate::{self, Hiding, Metrics};
use geneva_kb::KnowledgeBase;
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct AttributionArgs {
    /// A MITRE ATT&CK STIX bundle (2.0 or 2.1).
    #[arg(long)]
    kb: PathBuf,
    /// A MISP galaxy threat-actor file merged in (sponsors, victims).
    #[arg(long)]
    misp: Option<PathBuf>,
    /// Seeds of the hidden-subset runs, one run per seed.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Share of a group's uses hidden and attributed from.
    #[arg(long, default_value_t = 0.3)]
    hidden: f64,
    /// A report must be cited for at least this many of a group's uses to
    /// be a leave-one-report-out case; 0 skips that evaluation.
    #[arg(long, default_value_t = evaluate::REPORT_MIN_USES)]
    report_min_uses: usize,
    /// Timed attributions against the full knowledge base.
    #[arg(long, default_value_t = 2_000)]
    attributions: usize,
    /// Worker threads for the evaluation (each case fits its own model).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// One JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: AttributionArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.hidden > 0.0 && args.hidden < 1.0,
        "--hidden is a share between 0 and 1"
    );
    let bytes =
        std::fs::read(&args.kb).with_context(|| format!("reading {}", args.kb.display()))?;
    let t = Instant::now();
    let mut kb = KnowledgeBase::from_attack(&bytes)
        .with_context(|| format!("{} is not an ATT&CK bundle", args.kb.display()))?;
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    if let Some(misp) = &args.misp {
        let bytes = std::fs::read(misp).with_context(|| format!("reading {}", misp.display()))?;
        kb.merge_misp_galaxy(&bytes)
            .with_context(|| format!("{} is not a MISP galaxy", misp.display()))?;
    }
    let t = Instant::now();
    let attributor = Attributor::new(kb.clone());
    let fit_ms = t.elapsed().as_secs_f64() * 1e3;

    let t = Instant::now();
    let campaigns = evaluate::campaign_cases(&kb);
    let campaign_scores = evaluate::score_all(&campaigns, args.threads);
    let campaign_metrics = evaluate::metrics(&campaigns, &campaign_scores);
    let hidden = evaluate::hidden_cases(&kb, &args.seeds, args.hidden, Hiding::FromKnowledgeBase);
    let hidden_scores = evaluate::score_all(&hidden, args.threads);
    let hidden_metrics = evaluate::metrics(&hidden, &hidden_scores);
    let observed =
        evaluate::hidden_cases(&kb, &args.seeds, args.hidden, Hiding::FromTheObserverOnly);
    let observed_scores = evaluate::score_all(&observed, args.threads);
    let observed_metrics = evaluate::metrics(&observed, &observed_scores);
    let reports = if args.report_min_uses == 0 {
        Vec::new()
    } else {
        evaluate::report_cases(&kb, args.report_min_uses)
    };
    let report_scores = evaluate::score_all(&reports, args.threads);
    let report_metrics = evaluate::metrics(&reports, &report_scores);
    let evaluation_s = t.elapsed().as_secs_f64();

    // One attribution against the full knowledge base, timed on every
    // campaign's evidence in turn.
    let evidence: Vec<_> = kb
        .campaigns
        .iter()
        .map(|c| geneva_attribution::Evidence {
            techniques: c.techniques.clone(),
            software: c.software.clone(),
            ..Default::default()
        })
        .collect();
    anyhow::ensure!(!evidence.is_empty(), "the knowledge base has no campaigns");
    let mut latencies = Vec::with_capacity(args.attributions);
    for n in 0..args.attributions {
        let t = Instant::now();
        let result = attributor.attribute(&evidence[n % evidence.len()]);
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(result);
    }
    latencies.sort_by(f64::total_cmp);

    let report = json!({
        "knowledge_base": args.kb.display().to_string(),
        "actors": kb.actors.len(),
        "profiled_actors": kb.actors.iter().enumerate().filter(|(i, _)| !kb.repertoire(*i).is_empty()).count(),
        "campaigns": kb.campaigns.len(),
        "kb_read_ms": read_ms,
        "model_fit_ms": fit_ms,
        "weights": attributor.weights(),
        "feature_names": Attributor::feature_names(),
        "new_tradecraft": attributor.new_tradecraft(),
        "new_tradecraft_ranking_names": Attributor::new_tradecraft_ranking_names(),
        "new_tradecraft_gate_names": Attributor::gate_feature_names(),
        "attribution_ms": super::bench::percentiles(&latencies),
        "evaluation_s": evaluation_s,
        "campaigns_leave_one_out": campaign_metrics,
        "reports_leave_one_out": {"min_uses": args.report_min_uses, "methods": report_metrics},
        "hidden_subsets": {"seeds": args.seeds, "hidden": args.hidden, "methods": hidden_metrics},
        "observed_subsets": {"seeds": args.seeds, "observed": args.hidden, "methods": observed_metrics},
    });
    if args.json {
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "knowledge base: {} ({} actors, {} campaigns); read {read_ms:.0} ms, model fitted in {fit_ms:.0} ms",
        args.kb.display(),
        kb.actors.len(),
        kb.campaigns.len()
    );
    let new_tradecraft = attributor.new_tradecraft();
    println!(
        "new-tradecraft hypothesis fitted to expect {:.1}% of incidents wholly new to their actor (the share of the knowledge base's reports that are)",
        new_tradecraft.assumed_share * 100.0
    );
    println!(
        "one attribution: p50 {:.3} ms, p99 {:.3} ms over {} runs",
        latencies[latencies.len() / 2],
        latencies[((latencies.len() - 1) as f64 * 0.99).round() as usize],
        latencies.len()
    );
    table(
        &format!(
            "leave-one-out over {} attributed campaigns",
            campaigns.len()
        ),
        &campaign_metrics,
    );
    if !reports.is_empty() {
        table(
            &format!(
                "leave-one-out over {} reports ATT&CK cites for at least {} of a group's uses",
                reports.len(),
                args.report_min_uses
            ),
            &report_metrics,
        );
    }
    table(
        &format!(
            "hidden subsets: {:.0}% of each group's uses hidden from the knowledge base and attributed from, seeds {:?} ({} cases)",
            args.hidden * 100.0,
            args.seeds,
            hidden.len()
        ),
        &hidden_metrics,
    );
    table(
        &format!(
            "partial observation: {:.0}% of each group's uses observed, the knowledge base intact ({} cases)",
            args.hidden * 100.0,
            observed.len()
        ),
        &observed_metrics,
    );
    println!("evaluation took {evaluation_s:.1} s");
    Ok(ExitCode::SUCCESS)
}

fn table(title: &str, metrics: &[Metrics]) {
    println!("\n{title}");
    println!(
        "  {:<20} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8} {:>8}",
        "method", "top-1", "top-5", "MRR", "Brier", "ECE", "top-1*", "top-5*"
    );
    for m in metrics {
        println!(
            "  {:<20} {:>5.1}% {:>5.1}% {:>6.3} {:>6.3} {:>6.3} {:>7.1}% {:>7.1}%",
            m.method,
            m.top1 * 100.0,
            m.top5 * 100.0,
            m.mean_reciprocal_rank,
            m.brier,
            m.calibration_error,
            m.top1_actors * 100.0,
            m.top5_actors * 100.0
        );
    }
    println!("  (* among actors only, as if \"not in the knowledge base\" were no answer;");
    println!("   ties are broken at random: each figure is its expectation over the tied places)");
    println!(
        "  reliability of the top-1 probability (predictions, mean probability → share right):"
    );
    for m in metrics {
        let bins: Vec<String> = m
            .reliability
            .iter()
            .filter(|b| b.predictions > 0)
            .map(|b| {
                format!(
                    "[{:.1},{:.1}) {} {:.2}→{:.2}",
                    b.lower, b.upper, b.predictions, b.mean_probability, b.accuracy
                )
            })
            .collect();
        println!("  {:<20} {}", m.method, bins.join("  "));
    }
}
