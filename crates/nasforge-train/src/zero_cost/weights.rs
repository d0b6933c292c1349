//! The weights the gradient-based proxies score: every convolution's and every linear layer's weight tensor
//! (not biases, not normalisation parameters), as the zero-cost proxies' reference code does.

use burn::module::{Flag, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{FloatDType, Gradients, Tensor};

use super::ProxyNetwork;

/// One layer's weights and their gradient, flattened.
pub(super) struct LayerGradient {
    pub(super) weight: Vec<f64>,
    pub(super) grad: Vec<f64>,
}

/// Whether the parameter being visited is the `weight` of a convolution or linear layer.
fn is_scored_weight(path: &[(String, String)]) -> bool {
    path.last().is_some_and(|(name, container)| {
        name == "weight" && (container == "Struct:Conv2d" || container == "Struct:Linear")
    })
}

struct WeightGradients<'a> {
    grads: &'a Gradients,
    path: Vec<(String, String)>,
    layers: Vec<LayerGradient>,
}

impl ModuleVisitor for WeightGradients<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !is_scored_weight(&self.path) {
            return;
        }
        let weight = param.val();
        // A weight the loss does not reach (an edge whose output nobody uses) has no gradient: zero.
        let grad = weight.grad(self.grads).map_or_else(|| vec![0.0; weight.shape().num_elements()], values);
        self.layers.push(LayerGradient { weight: values(weight.inner()), grad });
    }
}

/// A tensor's values as f64 (whatever its float type), row-major.
pub(super) fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor.into_data().convert::<f64>().try_into_vec::<f64>().expect("f64 values")
}

/// The scored weights of `model` with their gradients in `grads`.
pub(super) fn weight_gradients<M: ProxyNetwork>(model: &M, grads: &Gradients) -> Vec<LayerGradient> {
    let mut visitor = WeightGradients { grads, path: Vec::new(), layers: Vec::new() };
    model.visit(&mut visitor);
    visitor.layers
}

/// Replaces every float parameter by its absolute value (still a tracked leaf) and switches every layer to
/// inference behaviour (batch norm with its running statistics, no dropout): SynFlow's linearised network.
struct Linearise {
    dtype: FloatDType,
}

impl ModuleMapper for Linearise {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.dtype;
        param.map(|t| t.abs().cast(dtype).detach().require_grad())
    }

    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        flag.with_value(false)
    }
}

pub(super) fn linearise<M: Module>(model: M, dtype: FloatDType) -> M {
    model.map(&mut Linearise { dtype })
}
