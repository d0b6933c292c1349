//! CIFAR-10 and CIFAR-100 in their binary versions: reading one batch file of records and loading the
//! training and test sets from the dataset's directory.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DataError, Dataset, corrupt};

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
