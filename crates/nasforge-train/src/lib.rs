//! Real training for nasforge on burn 0.22: datasets ([`data`]), burn networks built from architectures of
//! the `nb201`, `chain` and `darts` spaces ([`network`]), and training with the study's evaluator interface
//! ([`train`]), and zero-cost proxies that score a network at initialisation ([`zero_cost`]). CPU training uses burn's pure-Rust `flex` backend; `cuda` and `wgpu` are cargo features and
//! the device is chosen at run time ([`train::DeviceChoice`]). On the CPU, convolutions, batch norm and pooling run
//! on our own kernels ([`kernels`]).

pub mod allocator;
pub mod checkpoint;
pub mod data;
pub mod differentiable;
pub mod enas;
pub mod kernels;
pub mod latency;
pub mod memory;
pub mod network;
mod onnx;
pub mod saved_supernet;
pub mod spos;
pub mod supernet_evaluator;
pub mod train;
pub mod zero_cost;

pub use allocator::reuse_freed_memory;
pub use data::{Augmentation, Batcher, DataError, DataSource, Dataset, Normalization, SyntheticConfig};
pub use network::{Buildable, Network, NetworkScale, Probe, trainable_params};
pub use onnx::{ONNX_OPSET, OnnxExport, ReferenceBatch, export_onnx, onnx_model};
pub use train::{
    Checkpoint, DeviceChoice, EpochStats, FinalResult, OptimizerKind, TrainConfig, TrainEvaluator, TrainRun, evaluate,
    evaluate_logits, load_weights, measure_latency, task_of, train_final, train_network,
};
