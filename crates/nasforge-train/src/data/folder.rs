//! Datasets from folders of PNG or JPEG images, one sub-folder per class, with or without separate `train/`
//! and `test/` folders.

use std::path::{Path, PathBuf};

use super::{DataError, Dataset, corrupt};

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
