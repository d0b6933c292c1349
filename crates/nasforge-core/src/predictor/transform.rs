//! Target transforms: the Gaussian copula (normal quantiles of ranks) that model-based strategies fit
//! instead of raw scores, and the standard normal functions it needs.

/// The Gaussian copula of targets: each is replaced by the standard normal quantile of its rank,
/// `Φ⁻¹((r − ½) / n)` (ties share their average rank). Models fitted to it see the order of the results,
/// evenly spread, instead of a scale dominated by a few very poor networks.
pub fn copula(targets: &[f64]) -> Vec<f64> {
    let n = targets.len() as f64;
    super::evaluation::ranks(targets).iter().map(|r| normal_quantile((r - 0.5) / n)).collect()
}

/// The standard normal quantile function (Acklam's rational approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else if p >= 1.0 {
        f64::INFINITY
    } else if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The standard normal distribution function, through the complementary error function (Numerical
/// Recipes' Chebyshev fit, relative error below 1.2e-7 everywhere, tails included).
pub fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    0.5 * if x >= 0.0 { erfc } else { 2.0 - erfc }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_invert_the_distribution_function() {
        assert!((normal_cdf(-1.959_963_985) - 0.025).abs() < 1e-7);
        for p in [1e-6, 0.01, 0.024, 0.3, 0.5, 0.9, 0.99, 0.999_999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-7 * p.max(1e-3), "{p}");
        }
        let warped = copula(&[10.0, 94.0, 93.0, 93.0]);
        assert_eq!(warped[2], warped[3]);
        assert!(warped[0] < warped[2] && warped[2] < warped[1] && (warped[1] - 1.150_349_380_4).abs() < 1e-8);
    }
}
