//! The dense linear algebra of the predictors, on row-major `f64` buffers. Matrix products go through
//! nalgebra to `matrixmultiply`'s kernels; the Cholesky factorisation and triangular solves are written
//! out on slices, so they stay fast in unoptimised (test) builds too, where nalgebra's generic code would
//! be instantiated without optimisation.

use nalgebra::{Dyn, MatrixView, MatrixViewMut};

/// The dot product of two slices (over the shorter one's length).
///
/// The hot loops of this module and of the MLP are `while` loops over slices: in unoptimised builds a
/// `for` loop over a range pays a function call per step, which would triple their cost.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sum = 0.0;
    let mut k = 0;
    while k < n {
        sum += a[k] * b[k];
        k += 1;
    }
    sum
}

/// `y += x · alpha`, element-wise over the shorter length.
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    let mut k = 0;
    while k < n {
        y[k] += alpha * x[k];
        k += 1;
    }
}

/// A `rows`×`cols` view of a row-major buffer, or of the transpose of a row-major `cols`×`rows` buffer.
fn view(data: &[f64], rows: usize, cols: usize, transposed: bool) -> MatrixView<'_, f64, Dyn, Dyn, Dyn, Dyn> {
    if transposed {
        MatrixView::<f64, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides(data, rows, cols, 1, rows)
    } else {
        MatrixView::<f64, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides(data, rows, cols, cols, 1)
    }
}

/// `out = op(a) · op(b) + beta · out` on row-major buffers: `op(a)` is `m`×`k`, `op(b)` is `k`×`n`, `out` is
/// `m`×`n`; `op` transposes when the flag is set.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f64],
    a_transposed: bool,
    b: &[f64],
    b_transposed: bool,
    beta: f64,
    out: &mut [f64],
) {
    if m == 0 || n == 0 {
        return;
    }
    let out = &mut out[..m * n];
    if m > 5 && n > 5 && k > 5 {
        // nalgebra hands products of this size to matrixmultiply.
        let mut result = MatrixViewMut::<f64, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides_mut(out, m, n, n, 1);
        result.gemm(1.0, &view(a, m, k, a_transposed), &view(b, k, n, b_transposed), beta);
        return;
    }
    if beta == 0.0 {
        out.fill(0.0);
    } else if beta != 1.0 {
        let mut i = 0;
        while i < out.len() {
            out[i] *= beta;
            i += 1;
        }
    }
    // Thin products (a one-unit output layer, a column of targets): plain loops.
    let mut i = 0;
    while i < m {
        let row = &mut out[i * n..(i + 1) * n];
        let mut l = 0;
        while l < k {
            let x = if a_transposed { a[l * m + i] } else { a[i * k + l] };
            if x != 0.0 {
                if b_transposed {
                    let mut j = 0;
                    while j < n {
                        row[j] += x * b[j * k + l];
                        j += 1;
                    }
                } else {
                    axpy(x, &b[l * n..(l + 1) * n], row);
                }
            }
            l += 1;
        }
        i += 1;
    }
}

/// Squared Euclidean distances between the rows of `a` (`m`×`d`) and of `b` (`n`×`d`), row-major `m`×`n`.
pub(crate) fn squared_distances(a: &[f64], m: usize, b: &[f64], n: usize, d: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    gemm(m, d, n, a, false, b, true, 0.0, &mut out);
    let norms = |x: &[f64], rows: usize| -> Vec<f64> {
        (0..rows).map(|i| dot(&x[i * d..(i + 1) * d], &x[i * d..(i + 1) * d])).collect()
    };
    let (na, nb) = (norms(a, m), norms(b, n));
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for j in 0..n {
            let value = na[i] + nb[j] - 2.0 * row[j];
            row[j] = if value > 0.0 { value } else { 0.0 };
        }
    }
    out
}

/// The Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive-definite matrix.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    /// Row-major `n`×`n`; the strict upper triangle is zero.
    l: Vec<f64>,
    n: usize,
}

impl Cholesky {
    /// Factorises a row-major `n`×`n` matrix (only its lower triangle is read); `None` when it is not
    /// positive definite.
    pub fn new(mut a: Vec<f64>, n: usize) -> Option<Cholesky> {
        assert_eq!(a.len(), n * n, "a square matrix");
        for j in 0..n {
            let diagonal = a[j * n + j] - dot(&a[j * n..j * n + j], &a[j * n..j * n + j]);
            if !(diagonal > 0.0 && diagonal.is_finite()) {
                return None;
            }
            let pivot = diagonal.sqrt();
            a[j * n + j] = pivot;
            a[j * n + j + 1..(j + 1) * n].fill(0.0);
            for i in j + 1..n {
                let (upper, lower) = a.split_at_mut(i * n);
                let row_j = &upper[j * n..j * n + j];
                let row_i = &mut lower[..n];
                row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / pivot;
            }
        }
        Some(Cholesky { l: a, n })
    }

    /// `log det A = 2 Σ log L_ii`.
    pub fn log_determinant(&self) -> f64 {
        (0..self.n).map(|i| self.l[i * self.n + i].ln()).sum::<f64>() * 2.0
    }

    /// `A⁻¹ b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.n;
        let l = &self.l;
        // L z = b, then Lᵀ x = z.
        let mut z = vec![0.0; n];
        for i in 0..n {
            z[i] = (b[i] - dot(&l[i * n..i * n + i], &z[..i])) / l[i * n + i];
        }
        let mut x = z;
        for i in (0..n).rev() {
            let mut sum = x[i];
            for k in i + 1..n {
                sum -= l[k * n + i] * x[k];
            }
            x[i] = sum / l[i * n + i];
        }
        x
    }

    /// `A⁻¹`, row-major: the columns of `L⁻¹` by forward substitution, then `L⁻ᵀ L⁻¹` as one product.
    pub fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        let l = &self.l;
        // Row j of `columns` is column j of L⁻¹ (zero above the diagonal).
        let mut columns = vec![0.0; n * n];
        for j in 0..n {
            let x = &mut columns[j * n..(j + 1) * n];
            for i in j..n {
                let rhs = if i == j { 1.0 } else { 0.0 };
                x[i] = (rhs - dot(&l[i * n + j..i * n + i], &x[j..i])) / l[i * n + i];
            }
        }
        // (A⁻¹)_ab = Σ_i L⁻¹_ia L⁻¹_ib = Σ_i columns[a][i] columns[b][i].
        let mut inverse = vec![0.0; n * n];
        gemm(n, n, n, &columns, false, &columns, true, 0.0, &mut inverse);
        inverse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_handles_transposes_and_both_paths() {
        // a = [[1,2,3],[4,5,6]] (2×3), b = [[1,0],[0,1],[1,1]] (3×2).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut out = [0.0; 4];
        gemm(2, 3, 2, &a, false, &b, false, 0.0, &mut out);
        assert_eq!(out, [4.0, 5.0, 10.0, 11.0]);
        let mut gram = [0.0; 9];
        gemm(3, 2, 3, &a, true, &a, false, 0.0, &mut gram);
        assert_eq!(gram, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
        // Every transpose combination, on both the matrixmultiply path and the loop path, against a plain
        // triple loop.
        for (m, k, n) in [(7, 8, 6), (3, 9, 1), (9, 2, 8)] {
            let x: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let y: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let transpose = |v: &[f64], rows: usize, cols: usize| -> Vec<f64> {
                (0..cols * rows).map(|t| v[(t % rows) * cols + t / rows]).collect()
            };
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let xa = if ta { transpose(&x, m, k) } else { x.clone() };
                let yb = if tb { transpose(&y, k, n) } else { y.clone() };
                let mut fast = vec![1.0; m * n];
                gemm(m, k, n, &xa, ta, &yb, tb, 0.5, &mut fast);
                for i in 0..m {
                    for j in 0..n {
                        let slow: f64 = 0.5 + (0..k).map(|l| x[i * k + l] * y[l * n + j]).sum::<f64>();
                        assert!((fast[i * n + j] - slow).abs() < 1e-12, "{m}×{k}×{n} {ta} {tb}");
                    }
                }
            }
        }
        assert_eq!(squared_distances(&a, 2, &a, 2, 3), vec![0.0, 27.0, 27.0, 0.0]);
    }

    #[test]
    fn cholesky_solves_and_inverts() {
        let n = 9;
        // A = B Bᵀ + I for a fixed B.
        let b: Vec<f64> = (0..n * n).map(|i| ((i * 7 % 13) as f64 - 6.0) / 5.0).collect();
        let mut a = vec![0.0; n * n];
        gemm(n, n, n, &b, false, &b, true, 0.0, &mut a);
        for i in 0..n {
            a[i * n + i] += 1.0;
        }
        let factor = Cholesky::new(a.clone(), n).unwrap();
        let inverse = factor.inverse();
        let mut identity = vec![0.0; n * n];
        gemm(n, n, n, &a, false, &inverse, false, 0.0, &mut identity);
        for i in 0..n {
            for j in 0..n {
                assert!((identity[i * n + j] - f64::from(i == j)).abs() < 1e-9);
            }
        }
        let rhs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let x = factor.solve(&rhs);
        for i in 0..n {
            assert!((dot(&a[i * n..(i + 1) * n], &x) - rhs[i]).abs() < 1e-9);
        }
        let reference = nalgebra::DMatrix::from_row_slice(n, n, &a).determinant().ln();
        assert!((factor.log_determinant() - reference).abs() < 1e-9);
        assert!(Cholesky::new(vec![1.0, 2.0, 2.0, 1.0], 2).is_none(), "indefinite");
    }
}
