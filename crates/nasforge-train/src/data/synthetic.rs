//! The in-memory synthetic dataset: seeded random class patterns with shifts and noise, a small learnable task
//! for tests and smoke runs that needs no file.

use super::{Dataset, SplitMix64};

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
