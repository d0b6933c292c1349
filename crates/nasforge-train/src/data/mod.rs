//! Datasets for training: IDX files (MNIST, Fashion-MNIST; gzip or raw), CIFAR-10/100 binary batches and an
//! in-memory synthetic generator; seeded validation splits carved from the training set, per-channel
//! normalisation, augmentation (random crop with padding, horizontal flip) and batching.
//!
//! Images are stored as `u8` in NCHW order; batches are produced as normalised `f32` NCHW.

mod batch;
mod cifar;
mod folder;
mod idx;
mod rng;
mod synthetic;

pub use batch::{Augmentation, Batch, Batcher, Normalization};
pub use cifar::{load_cifar10, load_cifar100, read_cifar_batch};
pub use folder::load_image_folder;
pub use idx::{FASHION_MNIST_DIR, load_fashion_mnist, load_idx, load_idx_dir, read_idx_images, read_idx_labels};
pub use rng::SplitMix64;
pub use synthetic::{SyntheticConfig, synthetic};

use std::path::{Path, PathBuf};

/// The default dataset name.
pub const DEFAULT_DATASET: &str = "fashion-mnist";

/// Why a dataset could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("dataset file {path} not found{hint}")]
    Missing { path: PathBuf, hint: String },
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: label {label} of item {index} is outside the {classes} classes")]
    LabelOutOfRange { path: PathBuf, index: usize, label: usize, classes: usize },
    #[error("{0}")]
    Invalid(String),
}

fn corrupt(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Corrupt { path: path.to_path_buf(), message: message.into() }
}

/// Labelled images, `u8` NCHW.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    /// `len × channels × height × width` bytes.
    pub images: Vec<u8>,
    pub labels: Vec<u16>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub classes: usize,
}

impl Dataset {
    /// Builds a dataset, checking sizes and labels.
    pub fn new(
        name: impl Into<String>,
        images: Vec<u8>,
        labels: Vec<u16>,
        [channels, height, width]: [usize; 3],
        classes: usize,
    ) -> Result<Self, DataError> {
        let name = name.into();
        let per_image = channels * height * width;
        if per_image == 0 || classes == 0 {
            return Err(DataError::Invalid(format!("dataset {name}: empty image shape or no classes")));
        }
        if images.len() != labels.len() * per_image {
            return Err(DataError::Invalid(format!(
                "dataset {name}: {} image bytes for {} labels of {channels}×{height}×{width} images",
                images.len(),
                labels.len()
            )));
        }
        if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| usize::from(**l) >= classes) {
            return Err(DataError::LabelOutOfRange {
                path: PathBuf::from(&name),
                index,
                label: usize::from(label),
                classes,
            });
        }
        Ok(Dataset { name, images, labels, channels, height, width, classes })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[index * n..(index + 1) * n]
    }

    /// The items at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let n = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Dataset {
            name: self.name.clone(),
            images,
            labels,
            channels: self.channels,
            height: self.height,
            width: self.width,
            classes: self.classes,
        }
    }

    /// Splits off a seeded, class-stratified validation set of `fraction` of the items:
    /// returns `(train, validation)`.
    pub fn split(&self, fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let mut rng = SplitMix64::new(seed);
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.classes];
        for (i, &label) in self.labels.iter().enumerate() {
            by_class[usize::from(label)].push(i);
        }
        let (mut train, mut val) = (Vec::new(), Vec::new());
        for mut items in by_class {
            rng.shuffle(&mut items);
            let take = ((items.len() as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
            val.extend_from_slice(&items[..take]);
            train.extend_from_slice(&items[take..]);
        }
        rng.shuffle(&mut train);
        rng.shuffle(&mut val);
        (self.select(&train), self.select(&val))
    }

    /// A seeded, class-stratified subset of `fraction` of the items (at least one per class present).
    pub fn subset(&self, fraction: f64, seed: u64) -> Dataset {
        if fraction >= 1.0 {
            return self.clone();
        }
        let (_, kept) = self.split(fraction.max(0.0), seed ^ 0xA5A5);
        kept
    }

    /// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
    pub fn channel_stats(&self) -> Normalization {
        let plane = self.height * self.width;
        let mut sum = vec![0f64; self.channels];
        let mut sq = vec![0f64; self.channels];
        for image in self.images.chunks_exact(self.image_len().max(1)) {
            for c in 0..self.channels {
                for &p in &image[c * plane..(c + 1) * plane] {
                    let v = f64::from(p) / 255.0;
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
        let std = sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| {
                let m = s / count;
                ((q / count - m * m).max(0.0).sqrt() as f32).max(1e-3)
            })
            .collect();
        Normalization { mean, std }
    }
}

/// A training set and a test set, as a named dataset gives them.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub train: Dataset,
    pub test: Dataset,
}

/// Loads a dataset by name: `fashion-mnist` (default directory [`FASHION_MNIST_DIR`]), `mnist`, `cifar10`,
/// `cifar100`, `folder` (these four need `dir`), or `synthetic`.
pub fn load_named(name: &str, dir: Option<&Path>) -> Result<DataSource, DataError> {
    let (train, test) =
        match name {
            "fashion-mnist" | "fashion_mnist" | "fmnist" => load_fashion_mnist(dir)?,
            "mnist" => {
                let dir = dir.unwrap_or(Path::new("/usr/share/datasets/mnist"));
                load_idx_dir(dir, "mnist", " (pass the directory holding the MNIST IDX files)")?
            }
            "cifar10" | "cifar-10" => load_cifar10(
                dir.ok_or_else(|| DataError::Invalid("cifar10 needs the directory of its binary batches: --data-dir DIR (or data_dir in [evaluator])".into()))?,
            )?,
            "cifar100" | "cifar-100" => load_cifar100(
                dir.ok_or_else(|| DataError::Invalid("cifar100 needs the directory of its binary batches: --data-dir DIR (or data_dir in [evaluator])".into()))?,
            )?,
            "folder" => load_image_folder(dir.ok_or_else(|| {
                DataError::Invalid("a folder dataset needs the directory of its class folders: --data-dir DIR (or data_dir in [evaluator])".into())
            })?)?,
            "synthetic" => synthetic(&SyntheticConfig::default()),
            other => {
                return Err(DataError::Invalid(format!(
                    "unknown dataset '{other}' (expected fashion-mnist, mnist, cifar10, cifar100, folder or synthetic)"
                )));
            }
        };
    Ok(DataSource { train, test })
}
