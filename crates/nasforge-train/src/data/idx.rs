//! IDX files (MNIST, Fashion-MNIST), gzip or raw: reading image and label files, pairing them into a dataset,
//! and loading a directory laid out as MNIST's.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DataError, Dataset, corrupt};

/// Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

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
