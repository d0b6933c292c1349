//! Learning-curve extrapolation (after Domhan et al. 2015, who combine eleven parametric families by MCMC):
//! a small ensemble of saturating parametric curves fitted by least squares to the first points of a
//! learning curve, whose spread and residuals give a Gaussian prediction of the final value.
//!
//! What is extrapolated is the best value so far (the running maximum, or minimum for a minimised metric):
//! what a trial reports as its result, and a monotone curve that one noisy epoch does not throw off.
//! Families, with `x` the resource, each rising to an asymptote `c`: `pow3` `c − a·x^(−α)`, `exp3`
//! `c − a·e^(−b·x)` and `hill3` `c − a·k / (k + x)`, with `a ≥ 0`. Each has one nonlinear parameter searched on
//! a grid; the others are linear and solved exactly. The ensemble keeps the families that fit, weighted by
//! their residuals. A family's prediction is capped by diminishing returns: no more is gained after the last
//! observation than was gained up to it.

use crate::predictor::normal_cdf;

/// A predicted final value: its mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePrediction {
    pub mean: f64,
    pub std: f64,
}

impl CurvePrediction {
    /// The probability that the final value is above `threshold` (below it, when `maximize` is false).
    pub fn probability_to_beat(&self, threshold: f64, maximize: bool) -> f64 {
        let z = (self.mean - threshold) / self.std.max(1e-12);
        if maximize { normal_cdf(z) } else { normal_cdf(-z) }
    }
}

/// Least squares of `y ≈ p + q·f(x)` with `q ≥ 0`: `(p, q, sum of squared residuals)`, or `None` when `f`
/// is constant.
fn linear_fit(xs: &[f64], ys: &[f64], f: impl Fn(f64) -> f64) -> Option<(f64, f64, f64)> {
    let n = xs.len() as f64;
    let fs: Vec<f64> = xs.iter().map(|&x| f(x)).collect();
    if fs.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (mean_f, mean_y) = (fs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = fs.iter().map(|v| (v - mean_f).powi(2)).sum();
    if sxx < 1e-18 {
        return None;
    }
    let sxy: f64 = fs.iter().zip(ys).map(|(v, y)| (v - mean_f) * (y - mean_y)).sum();
    let q = (sxy / sxx).max(0.0);
    let p = mean_y - q * mean_f;
    let sse = fs.iter().zip(ys).map(|(v, y)| (y - p - q * v).powi(2)).sum();
    Some((p, q, sse))
}

/// One family's best fit: its prediction at `x_final` and its residual sum of squares.
fn fit_family(
    xs: &[f64],
    ys: &[f64],
    x_final: f64,
    basis: impl Fn(f64, f64) -> f64,
    grid: &[f64],
) -> Option<(f64, f64)> {
    grid.iter()
        .filter_map(|&theta| {
            let (p, q, sse) = linear_fit(xs, ys, |x| basis(x, theta))?;
            Some((p + q * basis(x_final, theta), sse))
        })
        .filter(|(prediction, _)| prediction.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Predicts the best value so far at `x_final` of a curve observed at `xs` (increasing, positive) with values
/// `ys`, larger being better when `maximize`. Needs at least three points; `None` otherwise.
pub fn extrapolate(xs: &[f64], ys: &[f64], x_final: f64, maximize: bool) -> Option<CurvePrediction> {
    if xs.len() < 3 || xs.len() != ys.len() || xs.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return None;
    }
    // Fitted as a rising curve: a minimised metric is negated, and the prediction with it.
    let sign = if maximize { 1.0 } else { -1.0 };
    let ys: Vec<f64> = ys
        .iter()
        .scan(f64::NEG_INFINITY, |best, y| {
            *best = best.max(sign * y);
            Some(*best)
        })
        .collect();
    let prediction = extrapolate_rising(xs, &ys, x_final)?;
    Some(CurvePrediction { mean: sign * prediction.mean, std: prediction.std })
}

fn extrapolate_rising(xs: &[f64], ys: &[f64], x_final: f64) -> Option<CurvePrediction> {
    let log_grid = |low: f64, high: f64, n: usize| -> Vec<f64> {
        (0..n).map(|i| (low.ln() + (high / low).ln() * i as f64 / (n - 1) as f64).exp()).collect()
    };
    let span = xs[xs.len() - 1];
    let fits: Vec<(f64, f64)> = [
        fit_family(xs, ys, x_final, |x, alpha| -x.powf(-alpha), &log_grid(0.05, 5.0, 80)),
        fit_family(xs, ys, x_final, |x, b| -(-b * x).exp(), &log_grid(0.01 / span, 10.0 / span, 80)),
        fit_family(xs, ys, x_final, |x, k| -k / (k + x), &log_grid(0.01 * span, 100.0 * span, 80)),
    ]
    .into_iter()
    .flatten()
    // Diminishing returns: what is left to gain is no more than what was gained so far. Without this cap a
    // noisy start (a flat step, then a jump) makes a family extrapolate the jump as a straight line.
    .map(|(prediction, sse)| {
        let (first, last) = (ys[0], ys[ys.len() - 1]);
        (prediction.clamp(last, last + (last - first)), sse)
    })
    .collect();
    if fits.is_empty() {
        return None;
    }
    // Weights favour the families that fit the observed points (a Gaussian likelihood with the best fit's
    // residual variance), so a family that cannot bend to the curve barely counts. Three-parameter families
    // fit three or four points almost exactly; for the prediction's spread, a floor of 5 % of the observed
    // range keeps the residuals from claiming a certainty so few points cannot give.
    let n = xs.len() as f64;
    let fitted = (fits.iter().map(|f| f.1).fold(f64::INFINITY, f64::min) / (n - 2.0).max(1.0)).max(1e-12);
    let weights: Vec<f64> = fits.iter().map(|(_, sse)| (-(sse / (2.0 * fitted)).min(700.0)).exp()).collect();
    let range = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max) - ys.iter().copied().fold(f64::INFINITY, f64::min);
    let noise = fitted.max((0.05 * range).powi(2)).max(1e-10);
    let total: f64 = weights.iter().sum();
    let mean = fits.iter().zip(&weights).map(|((p, _), w)| p * w).sum::<f64>() / total;
    let spread = fits.iter().zip(&weights).map(|((p, _), w)| w * (p - mean).powi(2)).sum::<f64>() / total;
    // The observation noise, and an extrapolation term growing with how far the prediction reaches.
    let reach = (x_final / span).max(1.0).ln() + 1.0;
    let std = (spread + noise * reach * reach).sqrt();
    Some(CurvePrediction { mean, std })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_law_curve_is_extrapolated_from_its_first_third() {
        let xs: Vec<f64> = (1..=30).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 0.9 - 0.4 * x.powf(-0.7)).collect();
        let prediction = extrapolate(&xs[..10], &ys[..10], 30.0, true).unwrap();
        assert!((prediction.mean - ys[29]).abs() < 0.01, "{prediction:?} vs {}", ys[29]);
        // A curve heading for 0.9 cannot reach 0.95; it very likely beats 0.8.
        assert!(prediction.probability_to_beat(0.95, true) < 0.05);
        assert!(prediction.probability_to_beat(0.8, true) > 0.95);
    }

    #[test]
    fn an_exponential_curve_is_extrapolated_too_and_short_curves_are_not() {
        let xs: Vec<f64> = (1..=12).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 0.8 - 0.5 * (-0.4 * x).exp()).collect();
        let prediction = extrapolate(&xs[..4], &ys[..4], 12.0, true).unwrap();
        // Four points leave the families disagreeing: the truth within 2σ of a prediction 0.05 off at most.
        let error = (prediction.mean - ys[11]).abs();
        assert!(error < 0.05 && error < 2.0 * prediction.std, "{prediction:?} vs {}", ys[11]);
        assert_eq!(extrapolate(&xs[..2], &ys[..2], 12.0, true), None);
        // A falling loss is the same curve upside down.
        let losses: Vec<f64> = ys.iter().map(|y| -y).collect();
        let loss = extrapolate(&xs[..4], &losses[..4], 12.0, false).unwrap();
        assert!((loss.mean + prediction.mean).abs() < 1e-9 && loss.std == prediction.std);
    }
}
