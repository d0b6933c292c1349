//! The two matrix functions the proxies need, on nalgebra.

use nalgebra::{DMatrix, SymmetricEigen};

/// `ln |det m|` of a square matrix (row-major, `n × n`) through its LU factors, without forming the
/// determinant (it overflows for NASWOT's kernels); `-∞` when `m` is singular.
pub(super) fn log_abs_determinant(m: &[f64], n: usize) -> f64 {
    let lu = DMatrix::from_row_slice(n, n, m).lu();
    lu.u().diagonal().iter().map(|d| d.abs().ln()).sum()
}

/// The eigenvalues of a symmetric matrix (row-major, `n × n`).
pub(super) fn symmetric_eigenvalues(m: &[f64], n: usize) -> Vec<f64> {
    SymmetricEigen::new(DMatrix::from_row_slice(n, n, m)).eigenvalues.iter().copied().collect()
}

/// The Pearson correlation matrix of the rows of `rows` (`n` rows of `d` values), row-major `n × n`. A row
/// without variance gives NaN entries, as numpy's `corrcoef` does.
pub(super) fn row_correlations(rows: &[f64], n: usize, d: usize) -> Vec<f64> {
    let centred: Vec<Vec<f64>> = rows
        .chunks_exact(d)
        .map(|row| {
            let mean = row.iter().sum::<f64>() / d as f64;
            row.iter().map(|v| v - mean).collect()
        })
        .collect();
    let norms: Vec<f64> = centred.iter().map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let dot: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
            let r = dot / (norms[i] * norms[j]);
            out[i * n + j] = r;
            out[j * n + i] = r;
        }
    }
    out
}
