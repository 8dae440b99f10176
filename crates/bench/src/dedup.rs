//! `reintegra-bench dedup`: duplicate detection on synthetic Salvadoran data. Generates
//! `--persons` records and `--queries` labelled queries (seeded), builds the index (time,
//! memory), runs every query (latency p50/p99) and scores the ranking (recall@10, top-1
//! accepted, false-match rate).

use std::time::Instant;

use reintegra_dedup::{Index, SearchOptions, MATCH_THRESHOLD};
use reintegra_dedup_eval::eval::{self, Ranked, Scored};
use reintegra_dedup_eval::generate::{self, Config};

use crate::latency::ms;

#[derive(clap::Args)]
pub struct Args {
    /// Persons in the index.
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    /// Labelled queries (70 % duplicates, 20 % same name other person, 10 % new people).
    #[arg(long, default_value_t = 5_000)]
    queries: usize,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Candidates per query.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Match threshold (default: the engine's).
    #[arg(long)]
    threshold: Option<f32>,
    /// Probability that a duplicate carries a second variation in another field.
    #[arg(long, default_value_t = 0.25)]
    second_variation: f64,
    /// Print the per-variation breakdown.
    #[arg(long)]
    by_kind: bool,
    /// Print up to this many misses and false matches (query, candidate, reasons).
    #[arg(long, default_value_t = 0)]
    show_errors: usize,
}

/// Resident memory of this process from /proc (Linux), in bytes.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mb(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

pub fn run(args: Args) -> Result<(), String> {
    let threshold = args.threshold.unwrap_or(MATCH_THRESHOLD);
    let cfg = Config {
        persons: args.persons,
        queries: args.queries,
        seed: args.seed,
        second_variation: args.second_variation,
        ..Config::default()
    };
    println!(
        "dedup: {} persons, {} queries, seed {}, second variation {}, top {}, threshold {}",
        cfg.persons, cfg.queries, cfg.seed, cfg.second_variation, args.top, threshold
    );
    let t = Instant::now();
    let data = generate::generate(&cfg);
    println!("generate: {:.0} ms", ms(t.elapsed()));

    let rss_before = rss_bytes();
    let t = Instant::now();
    let index = Index::build(&data.records).map_err(|(i, e)| format!("record {i}: {e}"))?;
    let build = t.elapsed();
    let rss_after = rss_bytes();
    println!("index build: {:.0} ms ({} persons)", ms(build), index.len());
    let rss = match (rss_before, rss_after) {
        (Some(a), Some(b)) => format!("{:.1} MB", mb(b.saturating_sub(a))),
        _ => "n/a".into(),
    };
    println!(
        "index memory: {:.1} MB (heap estimate), RSS growth {rss}",
        mb(index.heap_bytes() as u64)
    );

    let opts = SearchOptions {
        top: args.top,
        ..SearchOptions::default()
    };
    let mut latencies = Vec::with_capacity(data.queries.len());
    let mut reasons: Vec<Vec<String>> = Vec::new();
    let mut results = Vec::with_capacity(data.queries.len());
    let t_all = Instant::now();
    for q in &data.queries {
        let t = Instant::now();
        let cands = index
            .search(q, &opts)
            .map_err(|e| format!("query {}: {e}", q.id))?;
        latencies.push(t.elapsed());
        if args.show_errors > 0 {
            reasons.push(cands.first().map_or_else(Vec::new, |c| {
                c.reasons.iter().map(|r| r.text().to_string()).collect()
            }));
        }
        results.push(Ranked {
            query_id: q.id.clone(),
            candidates: cands
                .into_iter()
                .map(|c| Scored {
                    id: c.id,
                    score: c.score,
                })
                .collect(),
        });
    }
    let total = t_all.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(i).copied().unwrap_or_default()
    };
    println!(
        "query latency: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({:.0} queries/s)",
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(pct(1.0)),
        latencies.len() as f64 / total.as_secs_f64().max(1e-9)
    );

    let m = eval::evaluate(&results, &data.labels, threshold);
    println!("recall@1: {:.4}", m.recall_at_1);
    println!("recall@10: {:.4}", m.recall_at_10);
    println!("top-1 accepted: {:.4}", m.top1_accepted);
    println!(
        "false-match rate: {:.4} (same name other person; {:.4} over all {} non-matches; wrong top-1 accepted {:.4})",
        m.false_match_rate, m.false_match_rate_all, m.non_matches, m.wrong_accepted
    );
    if args.by_kind {
        print!("{m}");
    }
    if args.show_errors > 0 {
        show_errors(&data, &results, &reasons, threshold, args.show_errors);
    }
    Ok(())
}

/// Prints duplicates not accepted at the top and non-matches accepted, with the top candidate.
fn show_errors(
    data: &generate::Dataset,
    results: &[Ranked],
    reasons: &[Vec<String>],
    threshold: f32,
    limit: usize,
) {
    let records: std::collections::HashMap<&str, &reintegra_dedup::Record> =
        data.records.iter().map(|r| (r.id.as_str(), r)).collect();
    let show = |r: &reintegra_dedup::Record| {
        format!(
            "{} | {} | {} | {} | {} | {} | {} | {}",
            r.given_names,
            r.first_surname,
            r.second_surname,
            r.sex,
            r.birth_date,
            r.dui,
            r.district,
            r.phone
        )
    };
    let mut shown = 0;
    for (i, (label, res)) in data.labels.iter().zip(results).enumerate() {
        let top = res.candidates.first();
        let accepted = top.is_some_and(|c| c.score >= threshold);
        let right = top.is_some_and(|c| Some(&c.id) == label.match_id.as_ref());
        let error = match &label.match_id {
            Some(_) => !(right && accepted),
            None => accepted,
        };
        if !error {
            continue;
        }
        println!("--- {} ({})", label.query_id, label.kind);
        println!("  query:    {}", show(&data.queries[i]));
        if let Some(want) = label.match_id.as_deref().and_then(|id| records.get(id)) {
            println!("  expected: {}", show(want));
        }
        if let Some(c) = top {
            if let Some(r) = records.get(c.id.as_str()) {
                println!("  top {:.3}: {}", c.score, show(r));
                println!("  reasons: {}", reasons[i].join(", "));
            }
        }
        shown += 1;
        if shown >= limit {
            break;
        }
    }
}
