//! Datasets for training: IDX files (MNIST, Fashion-MNIST; gzip or raw), CIFAR-10/100 binary batches and an
//! in-memory synthetic generator; seeded validation splits carved from the training set, per-channel
//! normalisation, augmentation (random crop with padding, horizontal flip) and batching.
//!
//! Images are stored as `u8` in NCHW order; batches are produced as normalised `f32` NCHW.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
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

/// A small deterministic generator (SplitMix64) for shuffling, splits, augmentation and synthetic data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed ^ 0x5851_F42D_4C95_7F2D)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A standard normal sample (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
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

/// Per-channel normalisation: `(pixel / 255 - mean) / std`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// Augmentation applied to training batches.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmentation {
    /// Random crop after zero padding by this many pixels on each side (0: none).
    pub crop_padding: usize,
    /// Random horizontal flip with probability ½.
    pub horizontal_flip: bool,
}

impl Augmentation {
    pub const NONE: Augmentation = Augmentation { crop_padding: 0, horizontal_flip: false };
    /// The usual CIFAR augmentation: crop with 4 pixels of padding and flips.
    pub const STANDARD: Augmentation = Augmentation { crop_padding: 4, horizontal_flip: true };

    pub fn is_none(&self) -> bool {
        self.crop_padding == 0 && !self.horizontal_flip
    }
}

/// One batch: normalised images `[n, c, size, size]` (resized when `size` differs) and labels.
#[derive(Debug, Clone)]
pub struct Batch {
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
    pub shape: [usize; 4],
}

/// Turns dataset items into batches.
#[derive(Debug, Clone)]
pub struct Batcher {
    pub normalization: Normalization,
    pub augmentation: Augmentation,
    /// Output size (height = width); `None` keeps the dataset's size.
    pub resolution: Option<usize>,
}

impl Batcher {
    pub fn batch(&self, data: &Dataset, indices: &[usize], rng: &mut SplitMix64) -> Batch {
        let (c, h, w) = (data.channels, data.height, data.width);
        let (oh, ow) = match self.resolution {
            Some(s) if s != h || s != w => (s, s),
            _ => (h, w),
        };
        let mut images = Vec::with_capacity(indices.len() * c * oh * ow);
        let mut plane = vec![0f32; h * w];
        let pad = self.augmentation.crop_padding;
        for &index in indices {
            let image = data.image(index);
            let (dy, dx) = if pad > 0 {
                (rng.below(2 * pad + 1) as isize - pad as isize, rng.below(2 * pad + 1) as isize - pad as isize)
            } else {
                (0, 0)
            };
            let flip = self.augmentation.horizontal_flip && rng.below(2) == 1;
            for ch in 0..c {
                let (mean, std) = (self.normalization.mean[ch], self.normalization.std[ch]);
                let src = &image[ch * h * w..(ch + 1) * h * w];
                // Crop (zero padding: the padded pixels are 0 before normalisation) and flip.
                for y in 0..h {
                    for x in 0..w {
                        let sy = y as isize + dy;
                        let sx0 = if flip { w - 1 - x } else { x };
                        let sx = sx0 as isize + dx;
                        let v = if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                            f32::from(src[sy as usize * w + sx as usize]) / 255.0
                        } else {
                            0.0
                        };
                        plane[y * w + x] = (v - mean) / std;
                    }
                }
                if (oh, ow) == (h, w) {
                    images.extend_from_slice(&plane);
                } else {
                    resize_bilinear(&plane, h, w, oh, ow, &mut images);
                }
            }
        }
        let labels = indices.iter().map(|&i| i64::from(data.labels[i])).collect();
        Batch { images, labels, shape: [indices.len(), c, oh, ow] }
    }
}

/// Bilinear resize of one plane (align-corners off, as PyTorch's default), appended to `out`.
fn resize_bilinear(src: &[f32], h: usize, w: usize, oh: usize, ow: usize, out: &mut Vec<f32>) {
    let sy = h as f32 / oh as f32;
    let sx = w as f32 / ow as f32;
    for y in 0..oh {
        let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (h - 1) as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(h - 1);
        let ty = fy - y0 as f32;
        for x in 0..ow {
            let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (w - 1) as f32);
            let x0 = fx.floor() as usize;
            let x1 = (x0 + 1).min(w - 1);
            let tx = fx - x0 as f32;
            let top = src[y0 * w + x0] * (1.0 - tx) + src[y0 * w + x1] * tx;
            let bottom = src[y1 * w + x0] * (1.0 - tx) + src[y1 * w + x1] * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
}

/// Reads a whole file, un-gzipping it when it starts with the gzip magic.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io { path: path.to_path_buf(), source };
    let mut raw = Vec::new();
    File::open(path).map_err(io)?.read_to_end(&mut raw).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| corrupt(path, format!("not a valid gzip file: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The header of an IDX file of unsigned bytes: its dimensions.
fn idx_dims(path: &Path, bytes: &[u8], rank: usize) -> Result<Vec<usize>, DataError> {
    let header = 4 + 4 * rank;
    if bytes.len() < 4 {
        return Err(corrupt(path, format!("truncated IDX file: {} bytes, no header", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(corrupt(path, "not an IDX file (bad magic number)"));
    }
    if bytes[2] != 0x08 {
        return Err(corrupt(path, format!("IDX data type 0x{:02x} is not unsigned bytes (0x08)", bytes[2])));
    }
    if usize::from(bytes[3]) != rank {
        return Err(corrupt(path, format!("IDX file has {} dimensions, expected {rank}", bytes[3])));
    }
    if bytes.len() < header {
        return Err(corrupt(path, format!("truncated IDX header: {} bytes, expected {header}", bytes.len())));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("four bytes")) as usize)
        .collect();
    let body: Option<usize> = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match body {
        Some(body) if bytes.len() == header + body => Ok(dims),
        Some(body) => Err(corrupt(
            path,
            format!(
                "IDX size mismatch: header says {dims:?} ({body} data bytes), file has {} data bytes{}",
                bytes.len() - header,
                if bytes.len() < header + body { " (truncated)" } else { "" }
            ),
        )),
        None => Err(corrupt(path, format!("IDX dimensions {dims:?} overflow"))),
    }
}

/// Reads an IDX3 image file (gzip or raw): `(count, height, width, pixels)`.
pub fn read_idx_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let bytes = read_maybe_gzip(path)?;
    let dims = idx_dims(path, &bytes, 3)?;
    Ok((dims[0], dims[1], dims[2], bytes[16..].to_vec()))
}

/// Reads an IDX1 label file (gzip or raw).
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = read_maybe_gzip(path)?;
    idx_dims(path, &bytes, 1)?;
    Ok(bytes[8..].to_vec())
}

/// Reads a pair of IDX files (images, labels) into a dataset of `classes` classes.
pub fn load_idx(images: &Path, labels: &Path, classes: usize, name: &str) -> Result<Dataset, DataError> {
    let (count, height, width, pixels) = read_idx_images(images)?;
    let label_bytes = read_idx_labels(labels)?;
    if label_bytes.len() != count {
        return Err(corrupt(
            labels,
            format!("{} labels for the {count} images of {}", label_bytes.len(), images.display()),
        ));
    }
    if let Some((index, &label)) = label_bytes.iter().enumerate().find(|(_, l)| usize::from(**l) >= classes) {
        return Err(DataError::LabelOutOfRange {
            path: labels.to_path_buf(),
            index,
            label: usize::from(label),
            classes,
        });
    }
    Dataset::new(name, pixels, label_bytes.into_iter().map(u16::from).collect(), [1, height, width], classes)
}

/// Finds `stem` or `stem.gz` in `dir`.
fn find_file(dir: &Path, stem: &str, hint: &str) -> Result<PathBuf, DataError> {
    for candidate in [dir.join(stem), dir.join(format!("{stem}.gz"))] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(DataError::Missing { path: dir.join(format!("{stem}[.gz]")), hint: hint.to_string() })
}

/// The training and test sets of an IDX dataset directory laid out as MNIST's
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`).
pub fn load_idx_dir(dir: &Path, name: &str, hint: &str) -> Result<(Dataset, Dataset), DataError> {
    let file = |stem: &str| find_file(dir, stem, hint);
    let train = load_idx(&file("train-images-idx3-ubyte")?, &file("train-labels-idx1-ubyte")?, 10, name)?;
    let test = load_idx(&file("t10k-images-idx3-ubyte")?, &file("t10k-labels-idx1-ubyte")?, 10, name)?;
    Ok((train, test))
}

const FASHION_HINT: &str = " (install it with `apt-get install -y dataset-fashion-mnist`, which puts the files in \
                            /usr/share/datasets/fashion-mnist/, or pass the directory holding them)";

/// Fashion-MNIST from `dir` (default [`FASHION_MNIST_DIR`]): `(train, test)`.
pub fn load_fashion_mnist(dir: Option<&Path>) -> Result<(Dataset, Dataset), DataError> {
    load_idx_dir(dir.unwrap_or(Path::new(FASHION_MNIST_DIR)), "fashion-mnist", FASHION_HINT)
}

/// CIFAR image bytes per record.
const CIFAR_IMAGE: usize = 3 * 32 * 32;

/// Reads one CIFAR binary batch: records of `label_bytes` label bytes (1 for CIFAR-10; 2 for CIFAR-100,
/// coarse then fine, the fine label used) followed by 3072 bytes of a 3×32×32 image.
pub fn read_cifar_batch(path: &Path, label_bytes: usize, classes: usize) -> Result<(Vec<u8>, Vec<u16>), DataError> {
    let io = |source| DataError::Io { path: path.to_path_buf(), source };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::Missing { path: path.to_path_buf(), hint: String::new() },
            _ => io(e),
        })?
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let record = label_bytes + CIFAR_IMAGE;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(corrupt(
            path,
            format!(
                "CIFAR batch of {} bytes is not a whole number of {record}-byte records ({} label byte(s) + 3072 \
                 image bytes): truncated or not a CIFAR file",
                bytes.len(),
                label_bytes
            ),
        ));
    }
    let count = bytes.len() / record;
    let mut images = Vec::with_capacity(count * CIFAR_IMAGE);
    let mut labels = Vec::with_capacity(count);
    for (index, rec) in bytes.chunks_exact(record).enumerate() {
        let label = usize::from(rec[label_bytes - 1]);
        if label >= classes {
            return Err(DataError::LabelOutOfRange { path: path.to_path_buf(), index, label, classes });
        }
        labels.push(label as u16);
        images.extend_from_slice(&rec[label_bytes..]);
    }
    Ok((images, labels))
}

fn load_cifar_files(files: &[PathBuf], label_bytes: usize, classes: usize, name: &str) -> Result<Dataset, DataError> {
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for file in files {
        let (i, l) = read_cifar_batch(file, label_bytes, classes)?;
        images.extend(i);
        labels.extend(l);
    }
    Dataset::new(name, images, labels, [3, 32, 32], classes)
}

/// CIFAR-10 from the directory of the binary version (`data_batch_1.bin` … `data_batch_5.bin`,
/// `test_batch.bin`, possibly inside `cifar-10-batches-bin/`): `(train, test)`.
pub fn load_cifar10(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    let dir =
        if dir.join("cifar-10-batches-bin").is_dir() { dir.join("cifar-10-batches-bin") } else { dir.to_path_buf() };
    let train: Vec<PathBuf> = (1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).collect();
    let train = load_cifar_files(&train, 1, 10, "cifar10")?;
    let test = load_cifar_files(&[dir.join("test_batch.bin")], 1, 10, "cifar10")?;
    Ok((train, test))
}

/// CIFAR-100 (fine labels) from the directory of the binary version (`train.bin`, `test.bin`, possibly inside
/// `cifar-100-binary/`): `(train, test)`.
pub fn load_cifar100(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    let dir = if dir.join("cifar-100-binary").is_dir() { dir.join("cifar-100-binary") } else { dir.to_path_buf() };
    let train = load_cifar_files(&[dir.join("train.bin")], 2, 100, "cifar100")?;
    let test = load_cifar_files(&[dir.join("test.bin")], 2, 100, "cifar100")?;
    Ok((train, test))
}

/// Settings of the synthetic generator.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyntheticConfig {
    pub train: usize,
    pub test: usize,
    pub channels: usize,
    pub size: usize,
    pub classes: usize,
    /// Standard deviation of the pixel noise, in pixel units (0–255).
    pub noise: f32,
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig { train: 512, test: 128, channels: 1, size: 12, classes: 4, noise: 40.0, seed: 0 }
    }
}

/// A synthetic classification task: each class is a fixed random smooth pattern (a few oriented bars and
/// blobs per channel); items are their class's pattern, randomly shifted by up to one pixel, plus noise.
/// Learnable by a small convolutional network in a few dozen steps.
pub fn synthetic(config: &SyntheticConfig) -> (Dataset, Dataset) {
    let SyntheticConfig { channels, size, classes, .. } = *config;
    let mut rng = SplitMix64::new(config.seed);
    let plane = size * size;
    let patterns: Vec<Vec<f32>> = (0..classes)
        .map(|_| {
            let mut p = vec![0f32; channels * plane];
            for c in 0..channels {
                // A bar of random orientation and a blob at a random place.
                let angle = rng.unit() * std::f32::consts::PI;
                let (ca, sa) = (angle.cos(), angle.sin());
                let offset = (rng.unit() - 0.5) * size as f32 * 0.5;
                let (bx, by) = (rng.unit() * size as f32, rng.unit() * size as f32);
                let radius = 1.0 + rng.unit() * size as f32 / 4.0;
                for y in 0..size {
                    for x in 0..size {
                        let (fx, fy) = (x as f32 - size as f32 / 2.0, y as f32 - size as f32 / 2.0);
                        let d = fx * ca + fy * sa - offset;
                        let bar = (-d * d / 2.0).exp();
                        let r2 = (x as f32 - bx).powi(2) + (y as f32 - by).powi(2);
                        let blob = (-r2 / (2.0 * radius * radius)).exp();
                        p[c * plane + y * size + x] = 200.0 * (0.6 * bar + 0.6 * blob).min(1.0);
                    }
                }
            }
            p
        })
        .collect();
    let mut make = |count: usize| {
        let mut images = Vec::with_capacity(count * channels * plane);
        let mut labels = Vec::with_capacity(count);
        for i in 0..count {
            let class = i % classes;
            let (dy, dx) = (rng.below(3) as isize - 1, rng.below(3) as isize - 1);
            for c in 0..channels {
                for y in 0..size {
                    for x in 0..size {
                        let sy = (y as isize + dy).clamp(0, size as isize - 1) as usize;
                        let sx = (x as isize + dx).clamp(0, size as isize - 1) as usize;
                        let v = patterns[class][c * plane + sy * size + sx] + 20.0 + rng.normal() * config.noise;
                        images.push(v.clamp(0.0, 255.0) as u8);
                    }
                }
            }
            labels.push(class as u16);
        }
        Dataset::new("synthetic", images, labels, [channels, size, size], classes).expect("consistent synthetic data")
    };
    let train = make(config.train);
    let test = make(config.test);
    (train, test)
}

/// A folder of images (PNG or JPEG), one sub-folder per class, the sorted sub-folder names being the
/// classes: `DIR/train/CLASS/*` and `DIR/test/CLASS/*` when `DIR/train` exists, else `DIR/CLASS/*` with a
/// seeded, class-stratified fifth held out as the test set. Every image must have the size of the first;
/// the images are grayscale unless one has colour, then all are read as RGB.
pub fn load_image_folder(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    let name = format!("folder {}", dir.display());
    if dir.join("train").is_dir() {
        let classes = class_folders(&dir.join("train"))?;
        let test_classes = class_folders(&dir.join("test"))?;
        let class_names =
            |list: &[PathBuf]| list.iter().map(|p| p.file_name().map(|n| n.to_owned())).collect::<Vec<_>>();
        if class_names(&classes) != class_names(&test_classes) {
            return Err(corrupt(&dir.join("test"), "its class sub-folders differ from those of train/"));
        }
        let train = read_class_images(&classes, &name)?;
        let test = read_class_images(&test_classes, &name)?;
        if (train.channels, train.height, train.width) != (test.channels, test.height, test.width) {
            return Err(corrupt(&dir.join("test"), "its images differ in size or colour from those of train/"));
        }
        return Ok((train, test));
    }
    let all = read_class_images(&class_folders(dir)?, &name)?;
    let (train, test) = all.split(0.2, 0x1A6E);
    Ok((train, test))
}

/// The sub-folders of `dir`, sorted by name.
fn class_folders(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| DataError::Io { path: dir.to_path_buf(), source };
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.to_path_buf(),
            hint: " (a folder dataset holds one sub-folder of images per class)".into(),
        });
    }
    let mut classes: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()).map_err(io))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    if classes.len() < 2 {
        return Err(corrupt(dir, "a folder dataset needs at least two class sub-folders"));
    }
    Ok(classes)
}

/// Every PNG/JPEG image under each class folder, labelled by the folder's position.
fn read_class_images(classes: &[PathBuf], name: &str) -> Result<Dataset, DataError> {
    let mut decoded = Vec::new();
    for (label, folder) in classes.iter().enumerate() {
        let io = |source| DataError::Io { path: folder.clone(), source };
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(io)?
            .map(|entry| entry.map(|e| e.path()).map_err(io))
            .collect::<Result<Vec<_>, _>>()?;
        files.retain(|p| {
            let extension = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            matches!(extension.as_deref(), Some("png" | "jpg" | "jpeg"))
        });
        files.sort();
        if files.is_empty() {
            return Err(corrupt(folder, "no PNG or JPEG image in this class folder"));
        }
        for file in files {
            let image = image::open(&file).map_err(|e| corrupt(&file, format!("not a readable image: {e}")))?;
            decoded.push((file, label as u16, image));
        }
    }
    let (first_path, _, first) = &decoded[0];
    let (width, height) = (first.width() as usize, first.height() as usize);
    if let Some((path, _, image)) =
        decoded.iter().find(|(_, _, i)| (i.width() as usize, i.height() as usize) != (width, height))
    {
        return Err(corrupt(
            path,
            format!(
                "{}×{} pixels, but {} has {width}×{height}: all images of a dataset need one size",
                image.width(),
                image.height(),
                first_path.display()
            ),
        ));
    }
    let channels = if decoded.iter().any(|(_, _, i)| i.color().has_color()) { 3 } else { 1 };
    let mut images = Vec::with_capacity(decoded.len() * channels * width * height);
    let mut labels = Vec::with_capacity(decoded.len());
    for (_, label, image) in decoded {
        if channels == 1 {
            images.extend_from_slice(image.to_luma8().as_raw());
        } else {
            // Interleaved RGB to channel planes.
            let rgb = image.to_rgb8();
            for c in 0..3 {
                images.extend(rgb.as_raw().iter().skip(c).step_by(3));
            }
        }
        labels.push(label);
    }
    Dataset::new(name, images, labels, [channels, height, width], classes.len())
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
                dir.ok_or_else(|| DataError::Invalid("cifar10 needs the directory of its binary batches".into()))?,
            )?,
            "cifar100" | "cifar-100" => load_cifar100(
                dir.ok_or_else(|| DataError::Invalid("cifar100 needs the directory of its binary batches".into()))?,
            )?,
            "folder" => load_image_folder(dir.ok_or_else(|| {
                DataError::Invalid("a folder dataset needs the directory of its class folders".into())
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
