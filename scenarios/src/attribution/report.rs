//! The attribution report: per group, how well attribution predicts the actual effect
//! (correlations over candidates' means and over every sample), and every candidate's two
//! estimates; as a terminal table, markdown and JSON.

use serde::Serialize;

use scrub_core::attribution::correlation::{pearson, spearman};
use scrub_core::attribution::CandidateResult;
use scrub_core::experiment::Scenario;
use scrub_core::stats::Estimate;

use super::AttributeSettings;

/// How well attribution tracks the actual effect within one group of candidates.
#[derive(Debug, Clone, Serialize)]
pub struct GroupCorrelation {
    pub group: String,
    /// Candidates in the group whose values differ between the paired data.
    pub candidates: usize,
    /// Pearson's r between candidates' mean attribution and mean actual effect.
    pub pearson: Option<f64>,
    /// Spearman's ρ of the same.
    pub spearman: Option<f64>,
    /// Pearson's r over every (candidate, sample) pair.
    pub pearson_per_sample: Option<f64>,
    /// Median over candidates of |mean attribution − mean actual| / |mean actual|.
    pub median_relative_error: Option<f64>,
}

impl GroupCorrelation {
    /// The row's cells: group, candidates, r, ρ, r per sample, median relative error.
    fn cells(&self) -> [String; 6] {
        let f = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.3}"));
        [
            self.group.clone(),
            self.candidates.to_string(),
            f(self.pearson),
            f(self.spearman),
            f(self.pearson_per_sample),
            f(self.median_relative_error),
        ]
    }
}

/// One candidate as reported: its group and figures.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedCandidate {
    pub group: String,
    #[serde(flatten)]
    pub result: CandidateResult,
}

/// How long the run took and where.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    pub seconds: f64,
    /// `cpu` or `gpu`.
    pub executor: &'static str,
}

/// Everything `scrub attribute` reports.
#[derive(Debug, Clone, Serialize)]
pub struct AttributionReport {
    pub scenario: String,
    pub samples: usize,
    pub seed: u64,
    /// How the corrupted datum of each pair was drawn.
    pub pairing: String,
    pub loss_definition: String,
    /// The references' own metric.
    pub reference_loss: Estimate,
    /// Seconds the attribution (and patching, when measured) took.
    pub seconds: f64,
    /// `cpu` or `gpu`: where the passes, gradients and patching ran.
    pub executor: String,
    pub actual_measured: bool,
    pub groups: Vec<GroupCorrelation>,
    pub candidates: Vec<ReportedCandidate>,
}

impl AttributionReport {
    /// The report of `results`, `groups[i]` being the group of `results[i]`.
    pub fn new(
        scenario: &dyn Scenario,
        settings: &AttributeSettings,
        reference_loss: Estimate,
        metric_definition: String,
        results: Vec<CandidateResult>,
        groups: Vec<String>,
        ran: Ran,
    ) -> Self {
        let candidates: Vec<ReportedCandidate> = results
            .into_iter()
            .zip(groups)
            .map(|(result, group)| ReportedCandidate { group, result })
            .collect();
        let mut names: Vec<&str> = Vec::new();
        for c in &candidates {
            if !names.contains(&c.group.as_str()) {
                names.push(&c.group);
            }
        }
        let groups = names
            .iter()
            .map(|g| {
                correlation(
                    g,
                    candidates
                        .iter()
                        .filter(|c| c.group == *g && !c.result.constant),
                )
            })
            .collect();
        AttributionReport {
            scenario: scenario.name().to_string(),
            samples: settings.samples,
            seed: settings.seed,
            pairing: match &settings.agree {
                None => {
                    "corrupted datum drawn uniformly from the pool (as an unimportant input)".into()
                }
                Some(f) => format!("corrupted datum agreeing with the reference on `{f}`"),
            },
            loss_definition: metric_definition,
            reference_loss,
            seconds: ran.seconds,
            executor: ran.executor.to_string(),
            actual_measured: settings.actual,
            groups,
            candidates,
        }
    }

    /// The report as JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises")
    }

    /// The group summary as a terminal table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "attribution on {} ({} samples, seed {}; {}); reference metric {:.4} ± {:.4}; {:.1} s on the {} executor\n",
            self.scenario,
            self.samples,
            self.seed,
            self.pairing,
            self.reference_loss.mean,
            self.reference_loss.stderr,
            self.seconds,
            self.executor
        );
        s += &format!(
            "{:<34} {:>5} {:>9} {:>9} {:>11} {:>10}\n",
            "group", "n", "pearson", "spearman", "per-sample", "med. err"
        );
        for g in &self.groups {
            let [a, b, c, d, e, f] = g.cells();
            s += &format!("{a:<34} {b:>5} {c:>9} {d:>9} {e:>11} {f:>10}\n");
        }
        s += &self.top(10, |line| line);
        s
    }

    /// The `n` candidates with the largest actual effect (or attribution, when the actual
    /// effect was not measured), one formatted line each.
    fn top(&self, n: usize, fmt: impl Fn(String) -> String) -> String {
        let key = |c: &ReportedCandidate| {
            c.result
                .actual
                .map_or(c.result.attribution.mean, |a| a.mean)
                .abs()
        };
        let mut order: Vec<&ReportedCandidate> = self
            .candidates
            .iter()
            .filter(|c| !c.result.constant)
            .collect();
        order.sort_by(|a, b| key(b).total_cmp(&key(a)));
        let mut s = format!("\nlargest {} effects:\n", n.min(order.len()));
        for c in order.into_iter().take(n) {
            s += &fmt(format!(
                "  {:<48} attribution {:>+9.4} ± {:.4}   actual {}\n",
                c.result.name,
                c.result.attribution.mean,
                c.result.attribution.stderr,
                c.result.actual.map_or("not measured".into(), |a| format!(
                    "{:>+9.4} ± {:.4}",
                    a.mean, a.stderr
                ))
            ));
        }
        s
    }

    /// The report as markdown: settings, the group table, every candidate.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# Attribution patching vs activation patching: {}\n\n\
             - samples: {} (seed {}); {}\n- metric: {}\n- reference metric: {:.4} ± {:.4}\n\
             - attribution: (a_corrupted − a_reference) · ∂metric/∂a at the reference; actual: metric after patching − metric before{}\n\
             - time: {:.1} s ({} executor)\n\n",
            self.scenario,
            self.samples,
            self.seed,
            self.pairing,
            self.loss_definition,
            self.reference_loss.mean,
            self.reference_loss.stderr,
            if self.actual_measured { "" } else { " (not measured in this run)" },
            self.seconds,
            self.executor
        );
        s += "| group | candidates | Pearson r | Spearman ρ | r per sample | median rel. error |\n|---|---:|---:|---:|---:|---:|\n";
        for g in &self.groups {
            s += &format!("| {} |\n", g.cells().join(" | "));
        }
        s += "\n| candidate | group | attribution | actual |\n|---|---|---:|---:|\n";
        for c in &self.candidates {
            let r = &c.result;
            s += &format!(
                "| `{}` | {} | {:+.4} ± {:.4} | {} |\n",
                r.name,
                c.group,
                r.attribution.mean,
                r.attribution.stderr,
                match (r.constant, r.actual) {
                    (true, _) => "constant".to_string(),
                    (false, Some(a)) => format!("{:+.4} ± {:.4}", a.mean, a.stderr),
                    (false, None) => "—".to_string(),
                }
            );
        }
        s
    }
}

fn correlation<'a>(
    group: &str,
    members: impl Iterator<Item = &'a ReportedCandidate>,
) -> GroupCorrelation {
    let members: Vec<&CandidateResult> = members.map(|c| &c.result).collect();
    let attr: Vec<f64> = members.iter().map(|c| c.attribution.mean).collect();
    let actual: Option<Vec<f64>> = members.iter().map(|c| c.actual.map(|a| a.mean)).collect();
    let per_sample = actual.as_ref().and_then(|_| {
        let (x, y): (Vec<f64>, Vec<f64>) = members
            .iter()
            .flat_map(|c| {
                c.attribution_per_sample
                    .iter()
                    .copied()
                    .zip(c.actual_per_sample.iter().flatten().copied())
            })
            .unzip();
        pearson(&x, &y)
    });
    let median_relative_error = actual.as_ref().and_then(|y| {
        let mut e: Vec<f64> = attr
            .iter()
            .zip(y)
            .filter(|(_, b)| **b != 0.0)
            .map(|(a, b)| ((a - b) / b).abs())
            .collect();
        e.sort_by(f64::total_cmp);
        (!e.is_empty()).then(|| e[e.len() / 2])
    });
    GroupCorrelation {
        group: group.to_string(),
        candidates: members.len(),
        pearson: actual.as_ref().and_then(|y| pearson(&attr, y)),
        spearman: actual.as_ref().and_then(|y| spearman(&attr, y)),
        pearson_per_sample: per_sample,
        median_relative_error,
    }
}
