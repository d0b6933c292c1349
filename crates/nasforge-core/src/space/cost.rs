//! The analytic cost of a network: parameters and multiply-accumulates, as every space's network model
//! counts them.

/// Parameters and multiply-accumulates of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkCost {
    /// Trainable parameters (batch-norm scale and shift included; running statistics not).
    pub params: u64,
    /// Multiply-accumulate operations of one forward pass on one input, counting convolutions and the
    /// classifier (the convention of the benchmark's own FLOP figures).
    pub flops: u64,
}

impl NetworkCost {
    pub(crate) fn conv(&mut self, c_in: usize, c_out: usize, kernel: usize, out_size: usize, batch_norm: bool) {
        let weights = (kernel * kernel * c_in * c_out) as u64;
        self.params += weights + if batch_norm { 2 * c_out as u64 } else { 0 };
        self.flops += weights * (out_size * out_size) as u64;
    }

    /// A linear layer with bias from `features` to `outputs` (a classifier over pooled channels).
    pub(crate) fn linear(&mut self, features: usize, outputs: usize) {
        let weights = (features * outputs) as u64;
        self.params += weights + outputs as u64;
        self.flops += weights;
    }
}

impl std::ops::AddAssign for NetworkCost {
    fn add_assign(&mut self, other: NetworkCost) {
        self.params += other.params;
        self.flops += other.flops;
    }
}
