//! Dataset readers on files written by the tests (IDX raw and gzip, CIFAR-10/100 binary batches), including
//! corrupt and truncated ones; splits, normalisation, augmentation; Fashion-MNIST when installed.

use std::io::Write;
use std::path::{Path, PathBuf};

use nasforge_train::data::{
    self, Augmentation, Batcher, DataError, Dataset, Normalization, SplitMix64, SyntheticConfig, read_cifar_batch,
    read_idx_images, read_idx_labels,
};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasforge-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx_images(count: usize, h: usize, w: usize) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, 3];
    for d in [count, h, w] {
        bytes.extend((d as u32).to_be_bytes());
    }
    bytes.extend((0..count * h * w).map(|i| (i % 251) as u8));
    bytes
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, 1];
    bytes.extend((labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn reads_raw_and_gzipped_idx_files() {
    let dir = temp_dir("idx");
    let labels: Vec<u8> = (0..6).map(|i| i % 10).collect();
    write(&dir.join("train-images-idx3-ubyte"), &idx_images(6, 4, 5));
    write(&dir.join("train-labels-idx1-ubyte.gz"), &gzip(&idx_labels(&labels)));
    write(&dir.join("t10k-images-idx3-ubyte.gz"), &gzip(&idx_images(3, 4, 5)));
    write(&dir.join("t10k-labels-idx1-ubyte"), &idx_labels(&[1, 2, 3]));
    let (count, h, w, pixels) = read_idx_images(&dir.join("train-images-idx3-ubyte")).unwrap();
    assert_eq!((count, h, w, pixels.len()), (6, 4, 5, 120));
    assert_eq!(pixels[7], 7);
    assert_eq!(read_idx_labels(&dir.join("train-labels-idx1-ubyte.gz")).unwrap(), labels);
    let (train, test) = data::load_idx_dir(&dir, "test", "").unwrap();
    assert_eq!((train.len(), train.channels, train.height, train.width, train.classes), (6, 1, 4, 5, 10));
    assert_eq!(test.labels, vec![1, 2, 3]);
    assert_eq!(train.image(1), &pixels[20..40]);
}

#[test]
fn corrupt_idx_files_are_clear_errors() {
    let dir = temp_dir("idx-bad");
    let check = |name: &str, bytes: Vec<u8>, expected: &str| {
        let path = dir.join(name);
        write(&path, &bytes);
        let err = read_idx_images(&path).unwrap_err().to_string();
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains(name), "the message names the file: {err}");
    };
    let mut bad_magic = idx_images(2, 3, 3);
    bad_magic[0] = 7;
    check("magic", bad_magic, "bad magic");
    let mut truncated = idx_images(4, 3, 3);
    truncated.truncate(30);
    check("truncated", truncated, "truncated");
    check("short", vec![0, 0], "truncated");
    let mut too_long = idx_images(2, 3, 3);
    too_long.push(1);
    check("long", too_long, "size mismatch");
    check("rank", idx_labels(&[1, 2]), "1 dimensions, expected 3");
    let mut float_type = idx_images(1, 2, 2);
    float_type[2] = 0x0D;
    check("float", float_type, "not unsigned bytes");
    check("gzip", vec![0x1f, 0x8b, 1, 2, 3], "gzip");

    // Labels: wrong count and a label outside the classes.
    write(&dir.join("images"), &idx_images(3, 2, 2));
    write(&dir.join("labels"), &idx_labels(&[1, 2]));
    let err = data::load_idx(&dir.join("images"), &dir.join("labels"), 10, "x").unwrap_err().to_string();
    assert!(err.contains("2 labels for the 3 images"), "{err}");
    write(&dir.join("labels"), &idx_labels(&[1, 12, 2]));
    let err = data::load_idx(&dir.join("images"), &dir.join("labels"), 10, "x").unwrap_err();
    assert!(matches!(err, DataError::LabelOutOfRange { index: 1, label: 12, classes: 10, .. }), "{err}");
    assert!(err.to_string().contains("labels"), "{err}");
}

#[test]
fn missing_dataset_files_hint_at_the_package() {
    let dir = temp_dir("missing");
    let err = data::load_fashion_mnist(Some(&dir)).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }));
    let message = err.to_string();
    assert!(message.contains("train-images-idx3-ubyte"), "{message}");
    assert!(message.contains("apt-get install -y dataset-fashion-mnist"), "{message}");
    let err = data::load_named("imagenet", None).unwrap_err().to_string();
    assert!(err.contains("unknown dataset 'imagenet'"), "{err}");
    let err = data::load_cifar10(&dir).unwrap_err().to_string();
    assert!(err.contains("data_batch_1.bin") && err.contains("not found"), "{err}");
}

fn cifar_records(count: usize, label_bytes: usize, label: impl Fn(usize) -> u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..count {
        if label_bytes == 2 {
            bytes.push(0); // coarse label
        }
        bytes.push(label(i));
        bytes.extend((0..3072).map(|p| ((p + i) % 256) as u8));
    }
    bytes
}

#[test]
fn reads_cifar10_and_cifar100_binary_batches() {
    let dir = temp_dir("cifar10").join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for b in 1..=5 {
        write(&dir.join(format!("data_batch_{b}.bin")), &cifar_records(3, 1, |i| ((i + b) % 10) as u8));
    }
    write(&dir.join("test_batch.bin"), &cifar_records(2, 1, |i| i as u8));
    let (train, test) = data::load_cifar10(dir.parent().unwrap()).unwrap();
    assert_eq!((train.len(), train.channels, train.height, train.width, train.classes), (15, 3, 32, 32, 10));
    assert_eq!(train.labels[..3], [1, 2, 3]);
    assert_eq!(test.labels, vec![0, 1]);
    assert_eq!(test.image(1)[..3], [1, 2, 3]);

    let dir = temp_dir("cifar100");
    write(&dir.join("train.bin"), &cifar_records(4, 2, |i| (i * 30) as u8));
    write(&dir.join("test.bin"), &cifar_records(1, 2, |_| 99));
    let (train, test) = data::load_cifar100(&dir).unwrap();
    assert_eq!((train.len(), train.classes), (4, 100));
    assert_eq!(train.labels, vec![0, 30, 60, 90]);
    assert_eq!(test.labels, vec![99]);
}

#[test]
fn corrupt_cifar_batches_are_clear_errors() {
    let dir = temp_dir("cifar-bad");
    let mut truncated = cifar_records(2, 1, |_| 1);
    truncated.truncate(3073 + 100);
    write(&dir.join("truncated.bin"), &truncated);
    let err = read_cifar_batch(&dir.join("truncated.bin"), 1, 10).unwrap_err().to_string();
    assert!(err.contains("truncated.bin") && err.contains("not a whole number of 3073-byte records"), "{err}");
    write(&dir.join("empty.bin"), &[]);
    assert!(read_cifar_batch(&dir.join("empty.bin"), 1, 10).is_err());
    write(&dir.join("label.bin"), &cifar_records(3, 1, |i| if i == 2 { 10 } else { 0 }));
    let err = read_cifar_batch(&dir.join("label.bin"), 1, 10).unwrap_err();
    assert!(matches!(err, DataError::LabelOutOfRange { index: 2, label: 10, classes: 10, .. }), "{err}");
    // A CIFAR-100 file read as CIFAR-10 does not fit the record size.
    write(&dir.join("c100.bin"), &cifar_records(3, 2, |_| 5));
    assert!(read_cifar_batch(&dir.join("c100.bin"), 1, 10).is_err());
}

#[test]
fn splits_are_seeded_stratified_and_disjoint() {
    let (train, _) = data::synthetic(&SyntheticConfig { train: 400, classes: 4, ..SyntheticConfig::default() });
    let (a, va) = train.split(0.25, 7);
    let (b, vb) = train.split(0.25, 7);
    assert_eq!((a.len(), va.len()), (300, 100));
    assert_eq!(va, vb);
    assert_eq!(a, b);
    let (_, vc) = train.split(0.25, 8);
    assert_ne!(va, vc);
    for class in 0..4u16 {
        assert_eq!(va.labels.iter().filter(|&&l| l == class).count(), 25);
    }
    // Disjoint: every image of the original appears exactly once across the two parts.
    let mut all: Vec<&[u8]> = (0..a.len()).map(|i| a.image(i)).chain((0..va.len()).map(|i| va.image(i))).collect();
    let mut original: Vec<&[u8]> = (0..train.len()).map(|i| train.image(i)).collect();
    all.sort();
    original.sort();
    assert_eq!(all, original);
    let sub = train.subset(0.1, 3);
    assert_eq!(sub.len(), 40);
}

#[test]
fn normalisation_augmentation_and_resizing() {
    let images: Vec<u8> = vec![0, 255, 0, 255, /* image 2 */ 255, 255, 0, 0];
    let data = Dataset::new("tiny", images, vec![0, 1], [1, 2, 2], 2).unwrap();
    let stats = data.channel_stats();
    assert!((stats.mean[0] - 0.5).abs() < 1e-6 && (stats.std[0] - 0.5).abs() < 1e-6, "{stats:?}");
    let plain = Batcher { normalization: stats.clone(), augmentation: Augmentation::NONE, resolution: None };
    let batch = plain.batch(&data, &[0, 1], &mut SplitMix64::new(1));
    assert_eq!(batch.shape, [2, 1, 2, 2]);
    assert_eq!(batch.images, vec![-1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0]);
    assert_eq!(batch.labels, vec![0, 1]);
    // Flipping mirrors each row.
    let flip = Batcher { augmentation: Augmentation { crop_padding: 0, horizontal_flip: true }, ..plain.clone() };
    let mut rng = SplitMix64::new(5);
    let mut seen_flipped = false;
    for _ in 0..20 {
        let b = flip.batch(&data, &[0], &mut rng);
        assert!(b.images == [-1.0, 1.0, -1.0, 1.0] || b.images == [1.0, -1.0, 1.0, -1.0]);
        seen_flipped |= b.images[0] == 1.0;
    }
    assert!(seen_flipped);
    // Cropping with padding keeps the shape and brings in zero pixels (normalised to -1).
    let crop = Batcher { augmentation: Augmentation { crop_padding: 1, horizontal_flip: false }, ..plain.clone() };
    let b = crop.batch(&data, &[1, 1, 1, 1, 1, 1, 1, 1], &mut SplitMix64::new(9));
    assert_eq!(b.images.len(), 32);
    assert!(b.images.iter().any(|&v| v == -1.0));
    // Resizing to another resolution.
    let resize = Batcher { resolution: Some(4), ..plain.clone() };
    let b = resize.batch(&data, &[0], &mut SplitMix64::new(1));
    assert_eq!(b.shape, [1, 1, 4, 4]);
    assert_eq!(b.images.len(), 16);
    // Labels outside the classes are refused by the constructor.
    let err = Dataset::new("bad", vec![0; 4], vec![0, 3], [1, 1, 2], 3).unwrap_err();
    assert!(matches!(err, DataError::LabelOutOfRange { index: 1, label: 3, .. }));
    let _ = Normalization { mean: vec![0.0], std: vec![1.0] };
}

#[test]
fn fashion_mnist_when_installed() {
    let Some(dir) = nasforge_testkit::require(nasforge_testkit::FashionMnist) else { return };
    assert_eq!(dir, Path::new(data::FASHION_MNIST_DIR));
    let source = data::load_named("fashion-mnist", None).unwrap();
    assert_eq!((source.train.len(), source.test.len()), (60_000, 10_000));
    assert_eq!((source.train.channels, source.train.height, source.train.width, source.train.classes), (1, 28, 28, 10));
    for class in 0..10u16 {
        assert_eq!(source.test.labels.iter().filter(|&&l| l == class).count(), 1000);
    }
}

/// Writes `count` images per class into `dir/CLASS/`, class `c` having pixel value `40 * c + i`.
fn write_image_folder(dir: &Path, classes: &[&str], count: usize, rgb: bool) {
    for (c, class) in classes.iter().enumerate() {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..count {
            let value = (40 * c + i) as u8;
            let path = dir.join(class).join(format!("{i}.png"));
            if rgb {
                image::RgbImage::from_fn(6, 5, |x, _| image::Rgb([value, x as u8, 255 - value])).save(&path).unwrap();
            } else {
                image::GrayImage::from_pixel(6, 5, image::Luma([value])).save(&path).unwrap();
            }
        }
    }
}

#[test]
fn reads_image_folders() {
    // One folder: a fifth of each class is held out as the test set.
    let dir = temp_dir("folder_one");
    write_image_folder(&dir, &["cat", "dog"], 10, false);
    let (train, test) = data::load_image_folder(&dir).unwrap();
    assert_eq!((train.len(), test.len()), (16, 4));
    assert_eq!((train.channels, train.height, train.width, train.classes), (1, 5, 6, 2));
    for (index, &label) in train.labels.iter().enumerate() {
        let value = train.image(index)[0];
        assert_eq!(usize::from(value) / 40, usize::from(label), "the label follows the sorted class folder");
    }
    assert_eq!(test.labels.iter().filter(|&&l| l == 0).count(), 2, "stratified");

    // train/ and test/ folders, colour images as channel planes.
    let dir = temp_dir("folder_split");
    write_image_folder(&dir.join("train"), &["a", "b", "c"], 4, true);
    write_image_folder(&dir.join("test"), &["a", "b", "c"], 2, true);
    let source = data::load_named("folder", Some(&dir)).unwrap();
    assert_eq!((source.train.len(), source.test.len(), source.train.channels, source.train.classes), (12, 6, 3, 3));
    let first = source.train.image(0);
    assert_eq!(&first[..6], &[0; 6], "red plane of class a, image 0");
    assert_eq!(&first[30..36], &[0, 1, 2, 3, 4, 5], "green plane: x");
    assert_eq!(first[60], 255, "blue plane");
}

#[test]
fn bad_image_folders_are_clear_errors() {
    let dir = temp_dir("folder_bad");
    write_image_folder(&dir, &["a", "b"], 2, false);
    image::GrayImage::from_pixel(7, 5, image::Luma([1])).save(dir.join("b").join("odd.png")).unwrap();
    let error = data::load_image_folder(&dir).unwrap_err().to_string();
    assert!(error.contains("odd.png") && error.contains("one size"), "{error}");

    std::fs::remove_file(dir.join("b").join("odd.png")).unwrap();
    std::fs::write(dir.join("b").join("broken.png"), b"not a png").unwrap();
    let error = data::load_image_folder(&dir).unwrap_err().to_string();
    assert!(error.contains("broken.png") && error.contains("not a readable image"), "{error}");

    let empty = temp_dir("folder_empty");
    std::fs::create_dir_all(empty.join("a")).unwrap();
    std::fs::create_dir_all(empty.join("b")).unwrap();
    let error = data::load_image_folder(&empty).unwrap_err().to_string();
    assert!(error.contains("no PNG or JPEG"), "{error}");

    let error = data::load_named("folder", None).unwrap_err().to_string();
    assert!(error.contains("needs the directory"), "{error}");
    let error = data::load_image_folder(&temp_dir("folder_none").join("missing")).unwrap_err().to_string();
    assert!(error.contains("not found") && error.contains("one sub-folder of images per class"), "{error}");
}
