//! ONNX export of the networks: each network writes its inference graph next to its `forward`, through an
//! [`OnnxGraph`]; [`onnx_model`] wraps it in a model (opset 17) with a symbolic batch axis, and
//! [`export_onnx`] adds burn's own logits on a seeded batch, for checking a runtime against.

mod graph;
mod proto;

pub(crate) use graph::{OnnxGraph, Value, onnx_float, onnx_int, onnx_ints};

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use nasforge_core::space::TaskShape;
use prost::Message;
use serde::Serialize;

use crate::data::SplitMix64;
use crate::network::{Buildable, Network, NetworkScale};
use crate::train::load_weights;
use proto::{Dimension, Graph, Model, OperatorSetId, StringPair, TensorShape, TensorType, TypeProto, ValueInfo};

/// The operator set the graphs use (LayerNormalization needs 17).
pub const ONNX_OPSET: i64 = 17;
/// The IR version of opset 17.
const IR_VERSION: i64 = 8;

/// The ONNX model of `network` at inference (batch norm with its running statistics, no dropout): input
/// `input` `[batch, channels, size, size]` (normalised as in training), output `logits` `[batch, classes]`.
/// `metadata` goes into the model's properties.
pub fn onnx_model(network: &Network, task: &TaskShape, metadata: &[(String, String)]) -> Vec<u8> {
    let mut g = OnnxGraph::default();
    let input: Value = "input".to_string();
    let logits = match network {
        Network::Nb201(n) => n.onnx(&mut g, input.clone()),
        Network::Chain(n) => n.onnx(&mut g, input.clone(), task.size),
        Network::Darts(n) => n.onnx(&mut g, input.clone()),
        Network::Mbconv(n) => n.onnx(&mut g, input.clone()),
    };
    g.name_output(&logits, "logits");
    let batch = || Dimension { dim_param: Some("batch".to_string()), ..Dimension::default() };
    let size = |value: usize| Dimension { dim_value: Some(value as i64), ..Dimension::default() };
    let value_info = |name: &str, dim: Vec<Dimension>| ValueInfo {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorType { elem_type: proto::FLOAT, shape: Some(TensorShape { dim }) }),
        }),
    };
    let model = Model {
        ir_version: IR_VERSION,
        producer_name: "nasforge".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        doc_string: String::new(),
        graph: Some(Graph {
            node: g.nodes,
            name: "nasforge".to_string(),
            initializer: g.initializers,
            input: vec![value_info("input", vec![batch(), size(task.channels), size(task.size), size(task.size)])],
            output: vec![value_info("logits", vec![batch(), size(task.classes)])],
        }),
        opset_import: vec![OperatorSetId { domain: String::new(), version: ONNX_OPSET }],
        metadata_props: metadata
            .iter()
            .map(|(key, value)| StringPair { key: key.clone(), value: value.clone() })
            .collect(),
    };
    model.encode_to_vec()
}

/// A network as an ONNX model.
#[derive(Debug, Clone)]
pub struct OnnxExport {
    /// The serialised `ModelProto`.
    pub model: Vec<u8>,
    pub reference: ReferenceBatch,
}

/// burn's logits for a seeded input batch: what the exported model must reproduce.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceBatch {
    /// `[images, channels, size, size]`.
    pub input_shape: [usize; 4],
    /// The input, row-major, uniform in [-2, 2).
    pub input: Vec<f32>,
    /// The logits `[images, classes]`, row-major.
    pub logits: Vec<f32>,
}

/// Images in a reference batch.
const REFERENCE_IMAGES: usize = 2;
/// The seed of fresh weights and of the reference batch.
const EXPORT_SEED: u64 = 0;

/// The ONNX model of `arch`'s network, with the weights at `weights` (saved by [`crate::train_final`]) or
/// freshly initialised ones, and burn's logits on a seeded batch.
pub fn export_onnx<S: Buildable>(
    space: &S,
    arch: &S::Arch,
    task: &TaskShape,
    scale: &NetworkScale,
    weights: Option<&Path>,
    metadata: &[(String, String)],
) -> Result<OnnxExport, String> {
    let device = Device::flex();
    let network = match weights {
        Some(path) => load_weights(space, arch, task, scale, path, &device)?,
        None => {
            device.seed(EXPORT_SEED);
            space.build(arch, task, scale, &device)
        }
    };
    let mut metadata = metadata.to_vec();
    metadata.push(("weights".to_string(), weights.map_or("fresh".to_string(), |path| path.display().to_string())));
    let model = onnx_model(&network, task, &metadata);
    Ok(OnnxExport { model, reference: reference_batch(&network, task, &device) })
}

fn reference_batch(network: &Network, task: &TaskShape, device: &Device) -> ReferenceBatch {
    let input_shape = [REFERENCE_IMAGES, task.channels, task.size, task.size];
    let mut rng = SplitMix64::new(EXPORT_SEED);
    let input: Vec<f32> = (0..input_shape.iter().product())
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(input.clone(), input_shape), device);
    let logits = network.forward(x).into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 logits");
    ReferenceBatch { input_shape, input, logits }
}
