//! Getting a network out of a search: an architecture with the network around it (input shape, classes,
//! scale) as JSON, as a standalone PyTorch source file that builds the same network (the builder of the
//! Python package's `nasforge.torch`, whose parameter counts are checked against ours), or as an ONNX model
//! with fresh or trained weights and burn's outputs on a seeded batch to check a runtime against.

use std::path::Path;

use nasforge_core::space::TaskShape;
use nasforge_train::{Buildable, NetworkScale, OnnxExport, export_onnx};
use serde_json::{Value, json};

use crate::chosen_arch::choose_arch;
use crate::config::{EvaluatorConfig, StudyConfig};
use crate::error::{EngineError, Result, invalid};
use crate::registry::{ArchForms, SpaceConfig, SpaceKind, SpaceTask, arch_forms, with_space};
use crate::study::StudyHandle;

/// The source of `nasforge.torch`: PyTorch modules of every space, built from an architecture's JSON form.
const TORCH_BUILDER: &str = include_str!("../../../python/nasforge/torch.py");

/// An architecture and the network built around it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchExport {
    pub space: SpaceConfig,
    pub arch: ArchForms,
    pub task: TaskShape,
    pub scale: NetworkScale,
    /// The network's trainable parameters and multiply-accumulates of one image (analytic).
    pub params: u64,
    pub flops: u64,
}

/// What `nasforge export` asks for.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// The architecture: its printed or JSON form, a file holding one, or, with `study`, `best` or a trial id.
    pub arch: String,
    /// The space of `arch` [default: the study's, else nb201].
    pub space: Option<SpaceKind>,
    /// The study (storage URL, name) whose trial is exported and whose network is the default.
    pub study: Option<(String, String)>,
    /// The input's channels and side [default: the study's network, else CIFAR-10's 3×32×32].
    pub input: Option<(usize, usize)>,
    /// The classifier's outputs [default: the study's, else 10].
    pub classes: Option<usize>,
    /// The width and cells where given [default: the study's, else the space's].
    pub scale: NetworkScale,
}

/// The architecture and network `request` names.
pub fn export_architecture(request: &ExportRequest) -> Result<ArchExport> {
    let study = match &request.study {
        Some((url, name)) => Some(StudyHandle::open(url, name)?.results()?),
        None => None,
    };
    let chosen = choose_arch(study.as_ref(), request.space, &request.arch)?;
    let (task, scale) = match &study {
        Some(study) => study_network(&study.config)?.unwrap_or((TaskShape::CIFAR10, NetworkScale::default())),
        None => (TaskShape::CIFAR10, NetworkScale::default()),
    };
    let task = TaskShape {
        channels: request.input.map_or(task.channels, |(channels, _)| channels),
        size: request.input.map_or(task.size, |(_, size)| size),
        classes: request.classes.unwrap_or(task.classes),
    };
    let scale = NetworkScale {
        channels: request.scale.channels.or(scale.channels),
        cells: request.scale.cells.or(scale.cells),
    };
    export_arch(&chosen.space, &chosen.arch, task, scale)
}

/// The architecture `text` (printed or JSON form) of `space`, in the network for `task` at `scale`.
pub fn export_arch(space: &SpaceConfig, text: &str, task: TaskShape, scale: NetworkScale) -> Result<ArchExport> {
    if task.channels == 0 || task.size == 0 || task.classes == 0 {
        invalid!("the input shape and classes must be positive (got {}×{0}×{0}, {} classes)", task.size, task.classes);
    }
    let arch = arch_forms(space, text)?;
    struct Cost<'a>(&'a str, TaskShape, NetworkScale);
    impl SpaceTask for Cost<'_> {
        type Output = (u64, u64);
        fn run<S: Buildable>(self, space: S) -> Self::Output {
            let arch = space.parse(self.0).expect("the printed form of a parsed architecture parses");
            let cost = space.network_cost(&arch, &self.1, &self.2);
            (cost.params, cost.flops)
        }
    }
    let (params, flops) = with_space(space, Cost(&arch.printed, task, scale));
    Ok(ArchExport { space: space.clone(), arch, task, scale, params, flops })
}

/// The network a study's architectures are evaluated in: the training evaluator's dataset shape and scale,
/// the zero-cost evaluator's, the saved supernet's, or a table's task at the space's default scale; `None` when the study does
/// not say (the command evaluator, the caller).
pub fn study_network(config: &StudyConfig) -> Result<Option<(TaskShape, NetworkScale)>> {
    Ok(match &config.evaluator {
        EvaluatorConfig::Train(settings) => {
            let source = nasforge_train::data::load_named(&settings.dataset, settings.data_dir.as_deref())?;
            let task = nasforge_train::task_of(&source.train, settings.training.resolution);
            Some((task, settings.training.scale))
        }
        EvaluatorConfig::ZeroCost(zero_cost) => {
            let task = match &zero_cost.dataset {
                Some(dataset) => {
                    let source = nasforge_train::data::load_named(dataset, zero_cost.data_dir.as_deref())?;
                    nasforge_train::task_of(&source.train, None)
                }
                None => zero_cost.task,
            };
            Some((task, zero_cost.scale))
        }
        EvaluatorConfig::Supernet(config) => {
            let manifest = config.manifest()?;
            Some((manifest.task(), manifest.scale()))
        }
        EvaluatorConfig::Table { task, .. } => Some((*task, NetworkScale::default())),
        EvaluatorConfig::Command { .. } | EvaluatorConfig::Caller => None,
    })
}

impl ArchExport {
    /// `{"space", "arch", "arch_json", "decisions", "input": [channels, size, size], "classes", "scale",
    /// "params", "flops"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "space": self.space,
            "arch": self.arch.printed,
            "arch_json": serde_json::from_str::<Value>(&self.arch.json).expect("an architecture's JSON form is JSON"),
            "decisions": self.arch.decisions,
            "input": [self.task.channels, self.task.size, self.task.size],
            "classes": self.task.classes,
            "scale": self.scale,
            "params": self.params,
            "flops": self.flops,
        })
    }

    /// The network as an ONNX model, with the weights `nasforge train` saved (same architecture, input shape
    /// and scale) or freshly initialised ones, and burn's logits on a seeded batch.
    pub fn onnx(&self, weights: Option<&Path>) -> Result<OnnxExport> {
        struct Export<'a>(&'a ArchExport, Option<&'a Path>);
        impl SpaceTask for Export<'_> {
            type Output = std::result::Result<OnnxExport, String>;
            fn run<S: Buildable>(self, space: S) -> Self::Output {
                let Export(export, weights) = self;
                let arch = space.parse(&export.arch.printed).expect("the printed form of a parsed architecture parses");
                let metadata = [
                    ("space".to_string(), export.space.name().to_string()),
                    ("arch".to_string(), export.arch.printed.clone()),
                ];
                export_onnx(&space, &arch, &export.task, &export.scale, weights, &metadata)
            }
        }
        with_space(&self.space, Export(self, weights)).map_err(|message| {
            EngineError::Invalid(format!(
                "{message} (weights must come from `nasforge train` of this architecture with the same input shape, \
                 classes, --channels and --cells)"
            ))
        })
    }

    /// A Python file that builds the network with PyTorch alone (`build()`), and prints its parameter count
    /// when run.
    pub fn pytorch_source(&self) -> String {
        let python_int = |value: Option<usize>| value.map_or("None".to_string(), |v| v.to_string());
        format!(
            "# Generated by `nasforge export`: the {space} architecture\n#   {printed}\n# in the network nasforge \
             trains ({channels}×{size}×{size} input, {classes} classes, {params} trainable parameters).\n\
             # Needs PyTorch only. `python THIS_FILE` prints the parameter count.\n\n{builder}\n\n\
             SPACE = json.loads({space_table})\nARCH = json.loads({arch})\n\n\ndef build():\n    \"\"\"The network, freshly initialised.\"\"\"\n    \
             return build_model(\n        SPACE, ARCH, input_shape=({channels}, {size}, {size}), classes={classes}, \
             channels={scale_channels}, cells={scale_cells}\n    )\n\n\n\
             if __name__ == \"__main__\":\n    print(count_parameters(build()))\n",
            space = self.space.name(),
            printed = self.arch.printed,
            channels = self.task.channels,
            size = self.task.size,
            classes = self.task.classes,
            params = self.params,
            builder = TORCH_BUILDER.trim_end(),
            space_table = Value::String(serde_json::to_string(&self.space).expect("space settings serialise")),
            arch = Value::String(self.arch.json.clone()),
            scale_channels = python_int(self.scale.channels),
            scale_cells = python_int(self.scale.cells),
        )
    }
}
