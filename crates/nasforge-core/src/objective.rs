//! Objectives and constraints: which metrics a study maximises or minimises, which bounds it must respect,
//! and the oriented scores that strategies compare (higher is always better).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::trial::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[serde(alias = "max")]
    Maximize,
    #[serde(alias = "min")]
    Minimize,
}

/// A named metric to maximise or minimise. Written `cifar10:max` or `params:min` (`:max` is the default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    pub metric: String,
    pub direction: Direction,
}

impl Objective {
    pub fn maximize(metric: impl Into<String>) -> Self {
        Objective { metric: metric.into(), direction: Direction::Maximize }
    }

    pub fn minimize(metric: impl Into<String>) -> Self {
        Objective { metric: metric.into(), direction: Direction::Minimize }
    }

    /// The value turned so that higher is better.
    pub fn orient(&self, value: f64) -> f64 {
        match self.direction {
            Direction::Maximize => value,
            Direction::Minimize => -value,
        }
    }
}

impl FromStr for Objective {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (metric, direction) = match text.trim().rsplit_once(':') {
            Some((metric, "max" | "maximize")) => (metric, Direction::Maximize),
            Some((metric, "min" | "minimize")) => (metric, Direction::Minimize),
            Some((_, other)) => {
                return Err(format!("objective '{text}': direction '{other}' must be max or min"));
            }
            None => (text.trim(), Direction::Maximize),
        };
        if metric.is_empty() {
            return Err(format!("objective '{text}': the metric name is empty"));
        }
        Ok(Objective { metric: metric.to_string(), direction })
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = match self.direction {
            Direction::Maximize => "max",
            Direction::Minimize => "min",
        };
        write!(f, "{}:{direction}", self.metric)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">=")]
    AtLeast,
}

/// A bound a metric must respect, written `params <= 1e6` or `cifar10 >= 90`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub metric: String,
    pub comparison: Comparison,
    pub bound: f64,
}

impl Constraint {
    /// How far `value` is outside the bound (0 when it is respected).
    pub fn violation(&self, value: f64) -> f64 {
        match self.comparison {
            Comparison::AtMost => (value - self.bound).max(0.0),
            Comparison::AtLeast => (self.bound - value).max(0.0),
        }
    }
}

impl FromStr for Constraint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (metric, comparison, bound) = if let Some((m, b)) = text.split_once("<=") {
            (m, Comparison::AtMost, b)
        } else if let Some((m, b)) = text.split_once(">=") {
            (m, Comparison::AtLeast, b)
        } else {
            return Err(format!("constraint '{text}': expected 'metric <= bound' or 'metric >= bound'"));
        };
        let metric = metric.trim();
        if metric.is_empty() {
            return Err(format!("constraint '{text}': the metric name is empty"));
        }
        let bound: f64 = bound
            .trim()
            .parse()
            .ok()
            .filter(|b: &f64| b.is_finite())
            .ok_or_else(|| format!("constraint '{text}': bound '{}' is not a number", bound.trim()))?;
        Ok(Constraint { metric: metric.to_string(), comparison, bound })
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.comparison {
            Comparison::AtMost => "<=",
            Comparison::AtLeast => ">=",
        };
        write!(f, "{} {op} {}", self.metric, self.bound)
    }
}

/// What a strategy learns from a finished trial: the objectives' values oriented so higher is better,
/// and the total constraint violation (0 for a feasible trial).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub scores: Vec<f64>,
    pub violation: f64,
}

impl Outcome {
    pub fn is_feasible(&self) -> bool {
        self.violation == 0.0
    }

    /// Deb's rule on the first objective: feasible beats infeasible, smaller violation beats larger,
    /// then the higher score wins.
    pub fn better_than(&self, other: &Outcome) -> bool {
        if self.violation != other.violation {
            return self.violation < other.violation;
        }
        self.scores[0] > other.scores[0]
    }

    /// Constrained Pareto dominance: feasibility first, then no objective worse and one strictly better.
    pub fn dominates(&self, other: &Outcome) -> bool {
        if self.violation != other.violation {
            return self.violation < other.violation;
        }
        let mut strictly = false;
        for (a, b) in self.scores.iter().zip(&other.scores) {
            if a < b {
                return false;
            }
            strictly |= a > b;
        }
        strictly
    }
}

/// A study's objectives and constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objectives {
    pub objectives: Vec<Objective>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

impl Objectives {
    pub fn new(objectives: Vec<Objective>, constraints: Vec<Constraint>) -> Result<Self, String> {
        if objectives.is_empty() {
            return Err("a study needs at least one objective".into());
        }
        for (i, a) in objectives.iter().enumerate() {
            if objectives[..i].iter().any(|b| b.metric == a.metric) {
                return Err(format!("objective '{}' is listed twice", a.metric));
            }
        }
        Ok(Objectives { objectives, constraints })
    }

    pub fn len(&self) -> usize {
        self.objectives.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objectives.is_empty()
    }

    /// The oriented outcome of a trial's metrics; names the missing metric and the ones present.
    pub fn outcome(&self, metrics: &Metrics) -> Result<Outcome, String> {
        let value = |name: &str| {
            metrics.get(name).copied().ok_or_else(|| {
                let present: Vec<&str> = metrics.keys().map(String::as_str).collect();
                format!("metric '{name}' is not among the evaluation's metrics ({})", present.join(", "))
            })
        };
        let mut scores = Vec::with_capacity(self.objectives.len());
        for objective in &self.objectives {
            scores.push(objective.orient(value(&objective.metric)?));
        }
        let mut violation = 0.0;
        for constraint in &self.constraints {
            violation += constraint.violation(value(&constraint.metric)?);
        }
        Ok(Outcome { scores, violation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objectives_and_constraints() {
        assert_eq!("cifar10".parse::<Objective>().unwrap(), Objective::maximize("cifar10"));
        assert_eq!("params:min".parse::<Objective>().unwrap(), Objective::minimize("params"));
        assert!("params:lowest".parse::<Objective>().unwrap_err().contains("max or min"));
        let c: Constraint = "params <= 1e6".parse().unwrap();
        assert_eq!((c.metric.as_str(), c.comparison, c.bound), ("params", Comparison::AtMost, 1e6));
        assert_eq!(c.violation(1.5e6), 0.5e6);
        assert_eq!(c.violation(1e5), 0.0);
        assert!("params < 3".parse::<Constraint>().unwrap_err().contains("expected"));
        assert!("params <= lots".parse::<Constraint>().unwrap_err().contains("'lots' is not a number"));
    }

    #[test]
    fn outcomes_orient_and_compare() {
        let objectives = Objectives::new(
            vec![Objective::maximize("acc"), Objective::minimize("params")],
            vec!["params <= 100".parse().unwrap()],
        )
        .unwrap();
        let metrics = |acc: f64, params: f64| Metrics::from([("acc".into(), acc), ("params".into(), params)]);
        let a = objectives.outcome(&metrics(90.0, 50.0)).unwrap();
        let b = objectives.outcome(&metrics(80.0, 60.0)).unwrap();
        let c = objectives.outcome(&metrics(99.0, 500.0)).unwrap();
        assert_eq!(a.scores, vec![90.0, -50.0]);
        assert!(a.dominates(&b) && !b.dominates(&a));
        assert!(a.dominates(&c), "feasible dominates infeasible");
        assert!(b.better_than(&c));
        let err = objectives.outcome(&Metrics::from([("acc".into(), 1.0)])).unwrap_err();
        assert!(err.contains("'params'") && err.contains("acc"), "{err}");
        assert!(Objectives::new(vec![], vec![]).is_err());
    }
}
