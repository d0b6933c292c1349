//! An ensemble of small multi-layer perceptrons, BANANAS' predictor (White et al. 2021): each member is
//! trained from its own random initialisation and batch order on standardised targets (ReLU, Adam, mean
//! squared error, a little weight decay); the prediction is the members' mean and their spread is the
//! uncertainty. Plain Rust; the matrix products run in `matrixmultiply` through nalgebra.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::linalg::{axpy, gemm};
use super::{Model, Prediction, Predictor, Standardiser, flatten};

/// An ensemble's architecture and training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpEnsemble {
    /// Networks in the ensemble.
    pub members: usize,
    /// Units of each hidden layer.
    pub hidden: Vec<usize>,
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per gradient step.
    pub batch: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// L2 penalty on the weights.
    pub weight_decay: f64,
    /// Seeds the members' initialisations and batch orders.
    pub seed: u64,
    /// Train each member on a bootstrap resample of the data (bagging) rather than on all of it: members
    /// then disagree more where the data is thin, a wider spread for Thompson sampling.
    pub bootstrap: bool,
}

impl Default for MlpEnsemble {
    /// BANANAS' ensemble of five, with two hidden layers of 32 units: a few thousand weights, enough for
    /// encodings of tens to a few hundred features fitted on tens to hundreds of architectures. Adam at
    /// 0.01 with batches of 32 for 100 epochs (a few hundred steps) converges on such sets in milliseconds;
    /// weight decay 1e-4 only keeps weights bounded.
    fn default() -> Self {
        MlpEnsemble {
            members: 5,
            hidden: vec![32, 32],
            epochs: 100,
            batch: 32,
            learning_rate: 0.01,
            weight_decay: 1e-4,
            seed: 0,
            bootstrap: false,
        }
    }
}

/// One fully connected layer: `weights` is `inputs`×`outputs`, row-major.
#[derive(Debug, Clone)]
struct Layer {
    inputs: usize,
    outputs: usize,
    weights: Vec<f64>,
    bias: Vec<f64>,
}

/// A network: ReLU after every layer but the last, which has one output.
#[derive(Debug, Clone)]
struct Network {
    layers: Vec<Layer>,
}

/// Adam's moment estimates of one layer.
struct Moments {
    weights: (Vec<f64>, Vec<f64>),
    bias: (Vec<f64>, Vec<f64>),
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

/// One Adam step (with bias correction) on a parameter slice. Index loops on slices, as cheap as the
/// arithmetic even in unoptimised builds.
fn adam(params: &mut [f64], grads: &[f64], moments: &mut (Vec<f64>, Vec<f64>), rate: f64, step: i32) {
    let n = params.len();
    let (m, v) = (&mut moments.0[..n], &mut moments.1[..n]);
    let grads = &grads[..n];
    let step_size = rate / (1.0 - BETA1.powi(step));
    let correction2 = 1.0 / (1.0 - BETA2.powi(step));
    let params = &mut params[..n];
    let mut i = 0;
    while i < n {
        let g = grads[i];
        let mi = BETA1 * m[i] + (1.0 - BETA1) * g;
        let vi = BETA2 * v[i] + (1.0 - BETA2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] -= step_size * mi / ((vi * correction2).sqrt() + EPSILON);
        i += 1;
    }
}

impl Network {
    /// He-uniform weights, zero biases.
    fn new<R: Rng + ?Sized>(inputs: usize, hidden: &[usize], rng: &mut R) -> Network {
        let mut layers = Vec::new();
        let mut from = inputs;
        for &to in hidden.iter().chain(std::iter::once(&1)) {
            let limit = (6.0 / from.max(1) as f64).sqrt();
            let weights = (0..from * to).map(|_| rng.random_range(-limit..limit)).collect();
            layers.push(Layer { inputs: from, outputs: to, weights, bias: vec![0.0; to] });
            from = to;
        }
        Network { layers }
    }

    /// The activations of every layer for `rows` examples (the input first, the output last).
    fn forward(&self, input: Vec<f64>, rows: usize) -> Vec<Vec<f64>> {
        let mut activations = vec![input];
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let mut out = vec![0.0; rows * layer.outputs];
            gemm(rows, layer.inputs, layer.outputs, &activations[l], false, &layer.weights, false, 0.0, &mut out);
            let (width, bias) = (layer.outputs, &layer.bias[..]);
            let hidden = l < last;
            let mut r = 0;
            while r < rows {
                let row = &mut out[r * width..(r + 1) * width];
                let mut j = 0;
                while j < width {
                    let value = row[j] + bias[j];
                    row[j] = if hidden && value < 0.0 { 0.0 } else { value };
                    j += 1;
                }
                r += 1;
            }
            activations.push(out);
        }
        activations
    }

    fn train<R: Rng + ?Sized>(&mut self, x: &[f64], width: usize, y: &[f64], settings: &MlpEnsemble, rng: &mut R) {
        let n = y.len();
        let batch = settings.batch.clamp(1, n.max(1));
        let mut moments: Vec<Moments> = self
            .layers
            .iter()
            .map(|l| Moments {
                weights: (vec![0.0; l.weights.len()], vec![0.0; l.weights.len()]),
                bias: (vec![0.0; l.outputs], vec![0.0; l.outputs]),
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        let mut step = 0;
        for _ in 0..settings.epochs {
            order.shuffle(rng);
            for chunk in order.chunks(batch) {
                step += 1;
                let rows = chunk.len();
                let mut input = Vec::with_capacity(rows * width);
                for &i in chunk {
                    input.extend_from_slice(&x[i * width..(i + 1) * width]);
                }
                let activations = self.forward(input, rows);
                // d(mean squared error)/d(output).
                let output = activations.last().expect("an output layer");
                let mut delta: Vec<f64> =
                    chunk.iter().zip(output).map(|(&i, &p)| 2.0 * (p - y[i]) / rows as f64).collect();
                for l in (0..self.layers.len()).rev() {
                    let layer = &self.layers[l];
                    let (inputs, outputs) = (layer.inputs, layer.outputs);
                    let mut grad_weights = layer.weights.clone();
                    gemm(
                        inputs,
                        rows,
                        outputs,
                        &activations[l],
                        true,
                        &delta,
                        false,
                        settings.weight_decay,
                        &mut grad_weights,
                    );
                    let mut grad_bias = vec![0.0; outputs];
                    for r in 0..rows {
                        axpy(1.0, &delta[r * outputs..(r + 1) * outputs], &mut grad_bias);
                    }
                    if l > 0 {
                        let mut previous = vec![0.0; rows * inputs];
                        gemm(rows, outputs, inputs, &delta, false, &layer.weights, true, 0.0, &mut previous);
                        let active = &activations[l][..rows * inputs];
                        let mut i = 0;
                        while i < active.len() {
                            if active[i] <= 0.0 {
                                previous[i] = 0.0;
                            }
                            i += 1;
                        }
                        delta = previous;
                    }
                    let layer = &mut self.layers[l];
                    let rate = settings.learning_rate;
                    adam(&mut layer.weights, &grad_weights, &mut moments[l].weights, rate, step);
                    adam(&mut layer.bias, &grad_bias, &mut moments[l].bias, rate, step);
                }
            }
        }
    }
}

/// A trained ensemble.
#[derive(Debug, Clone)]
pub struct MlpModel {
    networks: Vec<Network>,
    width: usize,
    /// The feature columns the networks read: those that vary in the training data.
    inputs: Vec<usize>,
    scale: Standardiser,
}

/// The columns `inputs` of each row of a row-major buffer of rows `width` long.
fn select_columns(x: &[f64], width: usize, inputs: &[usize]) -> Vec<f64> {
    if inputs.len() == width {
        return x.to_vec();
    }
    let rows = x.len().checked_div(width).unwrap_or(0);
    let mut out = Vec::with_capacity(rows * inputs.len());
    for r in 0..rows {
        let row = &x[r * width..(r + 1) * width];
        out.extend(inputs.iter().map(|&c| row[c]));
    }
    out
}

impl MlpEnsemble {
    /// Trains the ensemble. Features that are constant over the training data are left out (no weight
    /// could be learnt for them): long sparse encodings, such as DARTS' path encoding, shrink to the
    /// paths that occur.
    pub fn train(&self, features: &[Vec<f64>], targets: &[f64]) -> MlpModel {
        let (all, full_width) = flatten(features);
        let rows = features.len();
        let inputs: Vec<usize> =
            (0..full_width).filter(|&c| (1..rows).any(|r| all[r * full_width + c] != all[c])).collect();
        let x = select_columns(&all, full_width, &inputs);
        let width = inputs.len();
        let scale = Standardiser::of(targets);
        let y = scale.apply(targets);
        let networks = (0..self.members.max(1))
            .map(|member| {
                let seed = crate::study::trial_seed(self.seed, member as u64);
                let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
                let mut network = Network::new(width, &self.hidden, &mut rng);
                if !y.is_empty() {
                    if self.bootstrap {
                        let n = y.len();
                        let picks: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
                        let xs: Vec<f64> =
                            picks.iter().flat_map(|&i| x[i * width..(i + 1) * width].iter().copied()).collect();
                        let ys: Vec<f64> = picks.iter().map(|&i| y[i]).collect();
                        network.train(&xs, width, &ys, self, &mut rng);
                    } else {
                        network.train(&x, width, &y, self, &mut rng);
                    }
                }
                network
            })
            .collect();
        MlpModel { networks, width: full_width, inputs, scale }
    }
}

impl Predictor for MlpEnsemble {
    fn fit(&self, features: &[Vec<f64>], targets: &[f64]) -> Box<dyn Model> {
        Box::new(self.train(features, targets))
    }
}

impl MlpModel {
    /// Each member's predictions (original units), one vector per member.
    pub fn member_predictions(&self, features: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let (x, width) = flatten(features);
        let rows = features.len();
        if rows == 0 {
            return vec![Vec::new(); self.networks.len()];
        }
        assert_eq!(width, self.width, "features of another length than the training features");
        let x = select_columns(&x, width, &self.inputs);
        self.networks
            .iter()
            .map(|network| {
                let output = network.forward(x.clone(), rows).pop().expect("an output layer");
                output.iter().map(|v| self.scale.mean + self.scale.std * v).collect()
            })
            .collect()
    }
}

impl Model for MlpModel {
    fn predict(&self, features: &[Vec<f64>]) -> Vec<Prediction> {
        let members = self.member_predictions(features);
        let count = members.len() as f64;
        (0..features.len())
            .map(|i| {
                let mean = members.iter().map(|m| m[i]).sum::<f64>() / count;
                let spread = if members.len() > 1 {
                    (members.iter().map(|m| (m[i] - mean).powi(2)).sum::<f64>() / (count - 1.0)).sqrt()
                } else {
                    0.0
                };
                Prediction { mean, std: Some(spread) }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_smooth_two_dimensional_function() {
        let f = |a: f64, b: f64| (2.0 * a).sin() + b * b - a * b + 5.0;
        let point = |i: usize, j: usize| vec![i as f64 / 7.0 * 2.0 - 1.0, j as f64 / 7.0 * 2.0 - 1.0];
        let mut features = Vec::new();
        let mut targets = Vec::new();
        for i in 0..8 {
            for j in 0..8 {
                let x = point(i, j);
                targets.push(f(x[0], x[1]));
                features.push(x);
            }
        }
        let model = MlpEnsemble { epochs: 300, ..MlpEnsemble::default() }.train(&features, &targets);
        let predictions = model.predict(&features);
        let rmse = (predictions.iter().zip(&targets).map(|(p, t)| (p.mean - t).powi(2)).sum::<f64>() / 64.0).sqrt();
        let spread = (targets.iter().map(|t| (t - 5.3).powi(2)).sum::<f64>() / 64.0).sqrt();
        assert!(rmse < 0.1 * spread, "training rmse {rmse} against a spread of {spread}");
        // Held-out points between the training grid.
        let held_out: Vec<Vec<f64>> = (0..7).map(|i| vec![(i as f64 + 0.5) / 7.0 * 2.0 - 1.0, 0.3]).collect();
        for (x, p) in held_out.iter().zip(model.predict(&held_out)) {
            assert!((p.mean - f(x[0], x[1])).abs() < 0.25, "{x:?}: {} vs {}", p.mean, f(x[0], x[1]));
        }
        // Members agree where there is data and disagree far from it.
        let near = model.predict(&[vec![0.0, 0.0]])[0].std.unwrap();
        let far = model.predict(&[vec![8.0, -8.0]])[0].std.unwrap();
        assert!(far > 5.0 * near, "spread {near} near the data, {far} far from it");
    }

    #[test]
    fn members_differ_and_seeds_repeat() {
        let features: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64 / 20.0]).collect();
        let targets: Vec<f64> = features.iter().map(|x| x[0] * 3.0).collect();
        let settings = MlpEnsemble { seed: 7, epochs: 20, ..MlpEnsemble::default() };
        let a = settings.train(&features, &targets).member_predictions(&features);
        let b = settings.train(&features, &targets).member_predictions(&features);
        assert_eq!(a, b);
        assert_ne!(a[0], a[1], "members start from different weights");
        let c = MlpEnsemble { seed: 8, ..settings }.train(&features, &targets).member_predictions(&features);
        assert_ne!(a, c);
    }
}
