//! Probes of a forward pass, for the zero-cost proxies that look inside a network: every ReLU's input
//! (NASWOT's binary activation codes) and every convolution's output (Fisher's activation gradients).
//!
//! Every network routes its ReLUs through [`relu`] and its convolutions through [`conv2d`]. Outside a
//! [`Probe::record`] call they cost one thread-local read; inside, the ReLU inputs are kept (detached) and
//! each convolution output `y` is replaced by `y ⊙ m` with `m` a tracked all-ones tensor of shape
//! `[n, c, 1, 1]`: the value is unchanged and, after a backward pass, `∂L/∂m[i, c] = Σ_hw y · ∂L/∂y` is
//! the per-image, per-channel quantity Fisher's score squares.

use std::cell::RefCell;

use burn::nn::conv::Conv2d;
use burn::tensor::{Tensor, activation};

use crate::kernels;

/// What a probed forward pass saw.
#[derive(Default)]
pub struct Probe {
    /// Each ReLU's input, flattened to `[n, features]` and detached.
    pub relu_inputs: Vec<Tensor<2>>,
    /// One tracked all-ones multiplier `[n, c, 1, 1]` per convolution output.
    pub conv_gates: Vec<Tensor<4>>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Probe>> = const { RefCell::new(None) };
}

impl Probe {
    /// Runs `forward` with probing on (on this thread) and returns its result and what the probe saw.
    pub fn record<T>(forward: impl FnOnce() -> T) -> (T, Probe) {
        ACTIVE.with(|active| *active.borrow_mut() = Some(Probe::default()));
        let output = forward();
        let probe = ACTIVE.with(|active| active.borrow_mut().take()).unwrap_or_default();
        (output, probe)
    }
}

/// ReLU, its input recorded when a probe is active.
pub(crate) fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    ACTIVE.with(|active| {
        if let Some(probe) = active.borrow_mut().as_mut() {
            probe.relu_inputs.push(x.clone().detach().flatten::<2>(1, D - 1));
        }
    });
    activation::relu(x)
}

/// A convolution, its output gated by a tracked multiplier when a probe is active.
pub(crate) fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let y = kernels::conv2d(conv, x);
    ACTIVE.with(|active| match active.borrow_mut().as_mut() {
        Some(probe) if y.is_autodiff() => {
            let [n, c, _, _] = y.dims();
            let gate = Tensor::<4>::ones([n, c, 1, 1], &y.device()).require_grad();
            probe.conv_gates.push(gate.clone());
            y * gate
        }
        _ => y,
    })
}
