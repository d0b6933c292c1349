//! From dataset items to training batches: per-channel normalisation, augmentation (random crop with padding,
//! horizontal flip), bilinear resizing to the network's resolution, and the batcher that applies them.

use super::{Dataset, SplitMix64};

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
