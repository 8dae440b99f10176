//! Scoring ranked results against labels: recall@1, recall@10, top-1 accepted (top candidate
//! right and at or above the threshold) and the false-match rate (a person who is not in the
//! records, above all a same-name different person, whose top candidate reaches the threshold).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::generate::{Label, SAME_NAME_OTHER_PERSON};

/// One line of the evaluation output: candidates best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    pub query_id: String,
    pub candidates: Vec<Scored>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub id: String,
    pub score: f32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindStats {
    pub queries: usize,
    pub found_at_1: usize,
    pub found_at_10: usize,
    pub accepted: usize,
    pub false_matches: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub threshold: f32,
    /// Queries whose label names a record.
    pub duplicates: usize,
    pub recall_at_1: f64,
    pub recall_at_10: f64,
    /// Top candidate right and scoring at or above the threshold.
    pub top1_accepted: f64,
    /// Top candidate wrong yet at or above the threshold (a wrong merge proposed).
    pub wrong_accepted: f64,
    /// Same-name different people.
    pub hard_negatives: usize,
    /// Share of same-name different people whose top candidate reaches the threshold.
    pub false_match_rate: f64,
    /// Queries that are nobody in the records (hard negatives and new people).
    pub non_matches: usize,
    pub false_match_rate_all: f64,
    /// Labelled queries with no result line.
    pub missing_results: usize,
    /// Per main variation (first in the label's kind).
    pub by_kind: BTreeMap<String, KindStats>,
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Scores `results` against `labels` with the match threshold `threshold`.
pub fn evaluate(results: &[Ranked], labels: &[Label], threshold: f32) -> Metrics {
    let by_query: HashMap<&str, &Ranked> =
        results.iter().map(|r| (r.query_id.as_str(), r)).collect();
    let mut m = Metrics {
        threshold,
        ..Metrics::default()
    };
    let (mut at1, mut at10, mut accepted, mut wrong) = (0, 0, 0, 0);
    let (mut fm_hard, mut fm_all) = (0, 0);
    for label in labels {
        let ranked = by_query.get(label.query_id.as_str());
        if ranked.is_none() {
            m.missing_results += 1;
        }
        let cands: &[Scored] = ranked.map_or(&[], |r| &r.candidates);
        let top = cands.first();
        let top_accepted = top.is_some_and(|c| c.score >= threshold);
        let main_kind = label.kind.split('+').next().unwrap_or("").to_string();
        let stats = m.by_kind.entry(main_kind).or_default();
        stats.queries += 1;
        match &label.match_id {
            Some(want) => {
                m.duplicates += 1;
                let pos = cands.iter().take(10).position(|c| &c.id == want);
                if pos == Some(0) {
                    at1 += 1;
                    stats.found_at_1 += 1;
                    if top_accepted {
                        accepted += 1;
                        stats.accepted += 1;
                    }
                } else if top_accepted {
                    wrong += 1;
                    stats.false_matches += 1;
                }
                if pos.is_some() {
                    at10 += 1;
                    stats.found_at_10 += 1;
                }
            }
            None => {
                m.non_matches += 1;
                if label.kind == SAME_NAME_OTHER_PERSON {
                    m.hard_negatives += 1;
                }
                if top_accepted {
                    fm_all += 1;
                    stats.false_matches += 1;
                    if label.kind == SAME_NAME_OTHER_PERSON {
                        fm_hard += 1;
                    }
                }
            }
        }
    }
    m.recall_at_1 = ratio(at1, m.duplicates);
    m.recall_at_10 = ratio(at10, m.duplicates);
    m.top1_accepted = ratio(accepted, m.duplicates);
    m.wrong_accepted = ratio(wrong, m.duplicates);
    m.false_match_rate = ratio(fm_hard, m.hard_negatives);
    m.false_match_rate_all = ratio(fm_all, m.non_matches);
    m
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "recall@1: {:.4}", self.recall_at_1)?;
        writeln!(f, "recall@10: {:.4}", self.recall_at_10)?;
        writeln!(
            f,
            "top-1 accepted (score >= {}): {:.4}",
            self.threshold, self.top1_accepted
        )?;
        writeln!(
            f,
            "false-match rate (same name, other person): {:.4}",
            self.false_match_rate
        )?;
        writeln!(
            f,
            "false-match rate (all non-matches): {:.4}  wrong top-1 accepted: {:.4}",
            self.false_match_rate_all, self.wrong_accepted
        )?;
        writeln!(
            f,
            "queries: {} duplicates, {} same-name other people, {} non-matches in all, {} without results",
            self.duplicates, self.hard_negatives, self.non_matches, self.missing_results
        )?;
        writeln!(
            f,
            "by kind: queries  found@1  found@10  accepted  false-accepted"
        )?;
        for (kind, s) in &self.by_kind {
            writeln!(
                f,
                "  {kind:<24} {:>6} {:>8} {:>9} {:>9} {:>9}",
                s.queries, s.found_at_1, s.found_at_10, s.accepted, s.false_matches
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(q: &str, c: &[(&str, f32)]) -> Ranked {
        Ranked {
            query_id: q.into(),
            candidates: c
                .iter()
                .map(|(id, s)| Scored {
                    id: (*id).into(),
                    score: *s,
                })
                .collect(),
        }
    }

    fn label(q: &str, m: Option<&str>, kind: &str) -> Label {
        Label {
            query_id: q.into(),
            match_id: m.map(Into::into),
            kind: kind.into(),
        }
    }

    #[test]
    fn metrics() {
        let results = vec![
            ranked("q1", &[("a", 0.9), ("b", 0.2)]),
            ranked("q2", &[("x", 0.3), ("b", 0.2)]),
            ranked("q3", &[("c", 0.7)]),
            ranked("q4", &[("d", 0.2)]),
        ];
        let labels = vec![
            label("q1", Some("a"), "dui_missing"),
            label("q2", Some("b"), "name_typo"),
            label("q3", None, SAME_NAME_OTHER_PERSON),
            label("q4", None, SAME_NAME_OTHER_PERSON),
            label("q5", Some("e"), "moved"),
        ];
        let m = evaluate(&results, &labels, 0.5);
        assert_eq!(m.duplicates, 3);
        assert!((m.recall_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.recall_at_10 - 2.0 / 3.0).abs() < 1e-9);
        assert!((m.top1_accepted - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(m.hard_negatives, 2);
        assert!((m.false_match_rate - 0.5).abs() < 1e-9);
        assert_eq!(m.missing_results, 1);
        assert!(m.to_string().contains("recall@10: 0.6667"));
    }
}
