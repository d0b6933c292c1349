//! A network deployed in a floating-point format: its weights cast to f32, f16 or bf16, each input cast to the
//! same on the way in and the logits back to f32 on the way out. burn's CPU backend computes in all three;
//! our own kernels compute in f32 only, so in f16 and bf16 burn's own operations run instead.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{FloatDType, Tensor};

use nasforge_core::space::mbconv::Precision;

use super::Network;

/// Casts every float parameter to one format.
struct CastParameters(FloatDType);

impl ModuleMapper for CastParameters {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|tensor| tensor.cast(dtype))
    }
}

/// A network with its weights in a deployment's format.
pub struct DeployedNetwork {
    network: Network,
    dtype: FloatDType,
}

impl DeployedNetwork {
    pub fn new(network: Network, precision: Precision) -> DeployedNetwork {
        let dtype = match precision {
            Precision::F32 => FloatDType::F32,
            Precision::F16 => FloatDType::F16,
            Precision::Bf16 => FloatDType::BF16,
        };
        let network = if dtype == FloatDType::F32 { network } else { network.map(&mut CastParameters(dtype)) };
        DeployedNetwork { network, dtype }
    }

    /// The f32 logits of an f32 batch, computed in the network's format.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        if self.dtype == FloatDType::F32 {
            return self.network.forward(x);
        }
        self.network.forward(x.cast(self.dtype)).cast(FloatDType::F32)
    }
}
