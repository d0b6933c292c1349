"""The PyTorch networks of `nasforge.torch` against nasforge's own networks.

The reference numbers come from the Rust side (`target/release/nasforge`), so these tests need only torch:

- FIXTURES: random architectures of each space, searched with `--proxy params` by the zero-cost evaluator
  (`[evaluator] kind = "zero-cost"` with `task` and `scale`); `params` and `flops` are the analytic cost of
  `crates/nasforge-core/src/space/*/network.rs`, which `crates/nasforge-train/tests/training.rs` checks equal to
  the burn networks' trainable parameters. The darts space has all 12 operations; the chain space has
  channels [3, 7, 16, 33, 64], kernels [1, 3, 5, 7], dropouts [0, 0.1, 0.25], width multipliers
  [0.33, 0.5, 1, 1.37, 2.5] and skips up to 6 back, so that rounding, odd sizes and every norm are exercised.
- BURN_BUILT: `nasforge train --dataset synthetic` (1×12×12 images, 4 classes), whose `params` is the trainable
  parameter count of the burn network itself.
- PUBLISHED: the counts the Rust tests pin (NAS-Bench-201's CIFAR-10 network, DARTS V2 as the paper reports).
"""

import json

import pytest

import nasforge
from conftest import require

try:
    import torch
except ImportError:
    torch = None
if torch is None:
    require(None, "PyTorch is not installed (pip install torch)")

import nasforge.torch  # noqa: E402
from nasforge.torch import build_model, count_parameters  # noqa: E402

# (space, arch_json, input_shape, classes, scale, params, multiply-accumulates of one image)
FIXTURES = [
    ("nb201", {"nodes": [["none"], ["nor_conv_3x3", "avg_pool_3x3"], ["nor_conv_1x1", "skip_connect", "nor_conv_1x1"]]}, (1, 28, 28), 10, {}, 372058, 38849408),
    ("nb201", {"nodes": [["none"], ["nor_conv_1x1", "avg_pool_3x3"], ["skip_connect", "nor_conv_3x3", "nor_conv_3x3"]]}, (1, 28, 28), 10, {}, 587098, 62933888),
    ("nb201", {"nodes": [["none"], ["avg_pool_3x3", "none"], ["nor_conv_1x1", "skip_connect", "skip_connect"]]}, (1, 28, 28), 10, {}, 101018, 8743808),
    ("nb201", {"nodes": [["none"], ["avg_pool_3x3", "none"], ["none", "skip_connect", "nor_conv_3x3"]]}, (1, 28, 28), 10, {}, 316058, 32828288),
    ("nb201", {"nodes": [["skip_connect"], ["nor_conv_3x3", "none"], ["nor_conv_1x1", "none", "avg_pool_3x3"]]}, (1, 28, 28), 10, {}, 344058, 35838848),
    ("nb201", {"nodes": [["none"], ["avg_pool_3x3", "skip_connect"], ["nor_conv_1x1", "nor_conv_3x3", "nor_conv_3x3"]]}, (3, 32, 32), 100, {'channels': 8, 'cells': 2}, 73452, 9530496),
    ("nb201", {"nodes": [["none"], ["nor_conv_1x1", "avg_pool_3x3"], ["avg_pool_3x3", "skip_connect", "none"]]}, (3, 32, 32), 100, {'channels': 8, 'cells': 2}, 24620, 2452608),
    ("nb201", {"nodes": [["none"], ["nor_conv_1x1", "skip_connect"], ["avg_pool_3x3", "none", "nor_conv_1x1"]]}, (3, 32, 32), 100, {'channels': 8, 'cells': 2}, 27532, 2845824),
    ("nb201", {"nodes": [["avg_pool_3x3"], ["skip_connect", "none"], ["nor_conv_3x3", "nor_conv_1x1", "skip_connect"]]}, (3, 32, 32), 100, {'channels': 8, 'cells': 2}, 49036, 5991552),
    ("nb201", {"nodes": [["none"], ["skip_connect", "nor_conv_1x1"], ["avg_pool_3x3", "nor_conv_3x3", "nor_conv_3x3"]]}, (3, 17, 17), 7, {'channels': 4, 'cells': 1}, 11395, 501452),
    ("darts", {"normal": [["dil_conv_5x5", 0], ["sep_conv_5x5", 1], ["sep_conv_3x3", 1], ["skip_connect", 0], ["sep_conv_7x7", 3], ["max_pool_3x3", 0], ["conv_3x3", 2], ["avg_pool_3x3", 0]], "reduce": [["avg_pool_3x3", 0], ["sep_conv_5x5", 1], ["max_pool_3x3", 1], ["dil_conv_3x3", 0], ["sep_conv_7x7", 0], ["sep_conv_7x7", 3], ["sep_conv_3x3", 0], ["dil_conv_5x5", 2]]}, (3, 32, 32), 10, {}, 400858, 65489408),
    ("darts", {"normal": [["sep_conv_3x3", 0], ["avg_pool_3x3", 1], ["conv_7x1_1x7", 0], ["max_pool_3x3", 1], ["conv_1x1", 3], ["max_pool_3x3", 2], ["skip_connect", 2], ["sep_conv_5x5", 0]], "reduce": [["skip_connect", 0], ["conv_7x1_1x7", 1], ["conv_1x1", 0], ["sep_conv_7x7", 1], ["conv_3x3", 2], ["skip_connect", 3], ["conv_3x3", 0], ["avg_pool_3x3", 2]]}, (3, 32, 32), 10, {}, 518010, 77998592),
    ("darts", {"normal": [["conv_3x3", 1], ["conv_7x1_1x7", 0], ["sep_conv_5x5", 2], ["conv_3x3", 1], ["avg_pool_3x3", 1], ["sep_conv_5x5", 2], ["conv_1x1", 4], ["dil_conv_3x3", 3]], "reduce": [["conv_3x3", 0], ["dil_conv_5x5", 1], ["dil_conv_5x5", 0], ["sep_conv_7x7", 1], ["conv_1x1", 3], ["sep_conv_5x5", 2], ["max_pool_3x3", 3], ["sep_conv_3x3", 4]]}, (3, 32, 32), 10, {}, 652570, 98576896),
    ("darts", {"normal": [["sep_conv_5x5", 0], ["conv_1x1", 1], ["max_pool_3x3", 0], ["dil_conv_5x5", 2], ["avg_pool_3x3", 1], ["max_pool_3x3", 2], ["dil_conv_3x3", 1], ["conv_7x1_1x7", 4]], "reduce": [["conv_7x1_1x7", 0], ["sep_conv_3x3", 1], ["max_pool_3x3", 0], ["sep_conv_3x3", 2], ["dil_conv_3x3", 3], ["conv_7x1_1x7", 2], ["conv_3x3", 0], ["skip_connect", 4]]}, (3, 32, 32), 10, {}, 547418, 81410560),
    ("darts", {"normal": [["sep_conv_3x3", 0], ["conv_3x3", 1], ["conv_1x1", 2], ["max_pool_3x3", 0], ["dil_conv_5x5", 0], ["dil_conv_3x3", 3], ["avg_pool_3x3", 2], ["conv_7x1_1x7", 3]], "reduce": [["conv_7x1_1x7", 1], ["conv_3x3", 0], ["max_pool_3x3", 1], ["sep_conv_5x5", 2], ["sep_conv_3x3", 2], ["avg_pool_3x3", 0], ["conv_1x1", 0], ["dil_conv_3x3", 3]]}, (1, 28, 28), 100, {'channels': 8, 'cells': 5}, 109548, 11351008),
    ("darts", {"normal": [["sep_conv_3x3", 1], ["sep_conv_5x5", 0], ["dil_conv_5x5", 0], ["dil_conv_3x3", 1], ["conv_1x1", 0], ["conv_7x1_1x7", 1], ["conv_3x3", 4], ["skip_connect", 3]], "reduce": [["sep_conv_5x5", 1], ["sep_conv_3x3", 0], ["skip_connect", 1], ["dil_conv_5x5", 0], ["dil_conv_3x3", 0], ["conv_7x1_1x7", 2], ["conv_3x3", 0], ["sep_conv_3x3", 2]]}, (1, 28, 28), 100, {'channels': 8, 'cells': 5}, 121452, 12001728),
    ("darts", {"normal": [["sep_conv_7x7", 0], ["skip_connect", 1], ["conv_7x1_1x7", 0], ["conv_3x3", 2], ["avg_pool_3x3", 0], ["dil_conv_3x3", 2], ["dil_conv_5x5", 3], ["sep_conv_3x3", 2]], "reduce": [["conv_3x3", 0], ["sep_conv_5x5", 1], ["conv_7x1_1x7", 2], ["avg_pool_3x3", 1], ["sep_conv_3x3", 2], ["sep_conv_7x7", 0], ["sep_conv_7x7", 4], ["sep_conv_3x3", 0]]}, (1, 28, 28), 100, {'channels': 8, 'cells': 5}, 131836, 13240448),
    ("darts", {"normal": [["sep_conv_7x7", 0], ["max_pool_3x3", 1], ["sep_conv_3x3", 2], ["conv_7x1_1x7", 1], ["skip_connect", 1], ["dil_conv_3x3", 3], ["sep_conv_5x5", 1], ["conv_3x3", 0]], "reduce": [["dil_conv_3x3", 0], ["skip_connect", 1], ["avg_pool_3x3", 1], ["sep_conv_7x7", 0], ["conv_1x1", 0], ["max_pool_3x3", 3], ["dil_conv_3x3", 3], ["conv_3x3", 2]]}, (1, 28, 28), 10, {'channels': 4, 'cells': 3}, 11154, 2060992),
    ("darts", {"normal": [["conv_1x1", 0], ["sep_conv_5x5", 1], ["dil_conv_5x5", 0], ["avg_pool_3x3", 2], ["sep_conv_7x7", 1], ["dil_conv_3x3", 2], ["conv_7x1_1x7", 2], ["skip_connect", 0]], "reduce": [["sep_conv_5x5", 1], ["conv_1x1", 0], ["dil_conv_5x5", 2], ["sep_conv_3x3", 0], ["avg_pool_3x3", 0], ["max_pool_3x3", 1], ["conv_3x3", 4], ["sep_conv_5x5", 3]]}, (1, 28, 28), 10, {'channels': 4, 'cells': 3}, 12414, 2083728),
    ("darts", {"normal": [["avg_pool_3x3", 1], ["dil_conv_5x5", 0], ["skip_connect", 0], ["sep_conv_7x7", 1], ["conv_1x1", 3], ["conv_7x1_1x7", 1], ["dil_conv_3x3", 2], ["sep_conv_5x5", 1]], "reduce": [["avg_pool_3x3", 0], ["dil_conv_3x3", 1], ["max_pool_3x3", 1], ["conv_3x3", 2], ["sep_conv_5x5", 2], ["avg_pool_3x3", 3], ["dil_conv_5x5", 4], ["skip_connect", 3]]}, (3, 16, 16), 10, {'channels': 6, 'cells': 2}, 16396, 673728),
    ("darts", {"normal": [["sep_conv_3x3", 0], ["conv_3x3", 1], ["avg_pool_3x3", 0], ["conv_7x1_1x7", 2], ["dil_conv_3x3", 0], ["dil_conv_5x5", 3], ["skip_connect", 3], ["sep_conv_5x5", 1]], "reduce": [["sep_conv_3x3", 0], ["sep_conv_5x5", 1], ["sep_conv_7x7", 0], ["conv_1x1", 1], ["avg_pool_3x3", 0], ["skip_connect", 1], ["skip_connect", 2], ["dil_conv_3x3", 4]]}, (3, 16, 16), 10, {'channels': 6, 'cells': 2}, 17080, 704832),
    ("darts", {"normal": [["dil_conv_3x3", 1], ["sep_conv_3x3", 0], ["conv_3x3", 0], ["sep_conv_3x3", 2], ["conv_1x1", 1], ["max_pool_3x3", 0], ["dil_conv_5x5", 1], ["sep_conv_7x7", 0]], "reduce": [["avg_pool_3x3", 0], ["skip_connect", 1], ["conv_3x3", 0], ["conv_1x1", 1], ["sep_conv_5x5", 3], ["sep_conv_3x3", 1], ["skip_connect", 3], ["max_pool_3x3", 4]]}, (1, 28, 28), 10, {'channels': 5, 'cells': 1}, 3235, 768720),
    ("chain", {"width_multiplier": 0.33, "layers": [{"type": "conv1x1", "channels": 33, "activation": "gelu", "norm": "gn", "dropout": 0.1}, {"type": "identity", "skip": 2}, {"type": "maxpool3x3", "dropout": 0.25, "skip": 1}, {"type": "maxpool3x3", "dropout": 0.1}, {"type": "depthwise_conv3x3", "activation": "gelu", "norm": "bn"}, {"type": "inverted_residual", "kernel": 7, "channels": 7, "activation": "gelu", "norm": "bn", "skip": 1}, {"type": "identity", "skip": 6}, {"type": "conv3x3", "channels": 3, "activation": "hardswish", "norm": "ln", "dropout": 0.25, "skip": 5}, {"type": "dilated_conv3x3", "channels": 33, "activation": "relu", "norm": "gn", "dropout": 0.1, "skip": 6}, {"type": "bottleneck", "kernel": 3, "channels": 64, "activation": "hardswish", "norm": "ln", "dropout": 0.25, "skip": 3}]}, (1, 28, 28), 10, {}, 6010, 623784),
    ("chain", {"width_multiplier": 0.5, "layers": [{"type": "inverted_residual", "kernel": 5, "channels": 33, "activation": "hardswish", "norm": "ln", "skip": 1}, {"type": "conv1x1", "channels": 3, "activation": "swish", "norm": "bn", "skip": 2}, {"type": "bottleneck", "kernel": 1, "channels": 16, "activation": "gelu", "norm": "gn", "dropout": 0.25}, {"type": "conv3x3", "channels": 16, "activation": "gelu", "norm": "bn", "skip": 1}, {"type": "conv1x1", "channels": 3, "activation": "relu", "norm": "bn", "dropout": 0.1}, {"type": "conv3x3", "channels": 7, "activation": "hardswish", "norm": "bn", "dropout": 0.1, "skip": 3}, {"type": "avgpool3x3", "skip": 1}, {"type": "dilated_conv3x3", "channels": 33, "activation": "gelu", "norm": "bn", "skip": 4}]}, (1, 28, 28), 10, {}, 8318, 5454458),
    ("chain", {"width_multiplier": 2.5, "layers": [{"type": "maxpool3x3"}, {"type": "avgpool3x3"}, {"type": "depthwise_conv3x3", "activation": "relu", "norm": "gn"}, {"type": "avgpool3x3", "skip": 1}, {"type": "depthwise_conv3x3", "activation": "relu", "norm": "gn", "dropout": 0.1, "skip": 3}, {"type": "identity"}, {"type": "conv3x3", "channels": 7, "activation": "swish", "norm": "ln", "dropout": 0.25, "skip": 6}, {"type": "bottleneck", "kernel": 3, "channels": 64, "activation": "relu", "norm": "gn", "skip": 3}, {"type": "dilated_conv3x3", "channels": 3, "activation": "hardswish", "norm": "bn", "dropout": 0.1, "skip": 5}, {"type": "bottleneck", "kernel": 7, "channels": 16, "activation": "gelu", "norm": "bn", "dropout": 0.1, "skip": 2}]}, (1, 28, 28), 10, {}, 52430, 928864),
    ("chain", {"width_multiplier": 1.0, "layers": [{"type": "dilated_conv3x3", "channels": 3, "activation": "hardswish", "norm": "bn", "dropout": 0.1, "skip": 1}, {"type": "avgpool3x3", "dropout": 0.25}, {"type": "bottleneck", "kernel": 7, "channels": 33, "activation": "gelu", "norm": "bn", "dropout": 0.25, "skip": 3}, {"type": "inverted_residual", "kernel": 1, "channels": 16, "activation": "swish", "norm": "ln", "skip": 2}, {"type": "maxpool3x3", "dropout": 0.25, "skip": 1}, {"type": "depthwise_conv3x3", "activation": "relu", "norm": "gn", "dropout": 0.25, "skip": 6}, {"type": "inverted_residual", "kernel": 5, "channels": 7, "activation": "gelu", "norm": "ln", "dropout": 0.1, "skip": 3}, {"type": "bottleneck", "kernel": 1, "channels": 33, "activation": "gelu", "norm": "gn", "dropout": 0.1, "skip": 2}]}, (1, 28, 28), 10, {}, 22312, 3496970),
    ("chain", {"width_multiplier": 1.37, "layers": [{"type": "bottleneck", "kernel": 5, "channels": 64, "activation": "swish", "norm": "ln", "dropout": 0.1}, {"type": "bottleneck", "kernel": 3, "channels": 7, "activation": "hardswish", "norm": "bn", "dropout": 0.25, "skip": 1}, {"type": "bottleneck", "kernel": 1, "channels": 16, "activation": "swish", "norm": "bn", "dropout": 0.25}, {"type": "conv3x3", "channels": 7, "activation": "hardswish", "norm": "ln", "dropout": 0.25, "skip": 4}, {"type": "depthwise_conv3x3", "activation": "gelu", "norm": "gn", "dropout": 0.25, "skip": 2}, {"type": "dilated_conv3x3", "channels": 7, "activation": "relu", "norm": "gn", "dropout": 0.25, "skip": 3}, {"type": "inverted_residual", "kernel": 5, "channels": 7, "activation": "relu", "norm": "ln", "dropout": 0.1, "skip": 1}, {"type": "conv1x1", "channels": 3, "activation": "hardswish", "norm": "bn", "dropout": 0.25, "skip": 3}, {"type": "avgpool3x3", "dropout": 0.25, "skip": 1}, {"type": "inverted_residual", "kernel": 3, "channels": 3, "activation": "hardswish", "norm": "ln", "dropout": 0.25, "skip": 3}]}, (3, 32, 32), 100, {'channels': 8}, 23843, 22637968),
    ("chain", {"width_multiplier": 1.0, "layers": [{"type": "dilated_conv3x3", "channels": 33, "activation": "gelu", "norm": "bn"}, {"type": "dilated_conv3x3", "channels": 16, "activation": "gelu", "norm": "bn", "dropout": 0.25}, {"type": "bottleneck", "kernel": 1, "channels": 3, "activation": "hardswish", "norm": "ln", "dropout": 0.25, "skip": 3}, {"type": "identity", "skip": 1}, {"type": "depthwise_conv3x3", "activation": "hardswish", "norm": "bn", "skip": 4}, {"type": "conv1x1", "channels": 33, "activation": "swish", "norm": "gn", "dropout": 0.1, "skip": 5}, {"type": "inverted_residual", "kernel": 5, "channels": 7, "activation": "relu", "norm": "ln", "skip": 6}, {"type": "maxpool3x3"}, {"type": "maxpool3x3", "skip": 2}, {"type": "bottleneck", "kernel": 5, "channels": 16, "activation": "hardswish", "norm": "bn", "dropout": 0.1, "skip": 3}]}, (3, 32, 32), 100, {'channels': 8}, 24126, 21251392),
    ("chain", {"width_multiplier": 0.5, "layers": [{"type": "bottleneck", "kernel": 7, "channels": 33, "activation": "hardswish", "norm": "bn", "dropout": 0.1}, {"type": "inverted_residual", "kernel": 3, "channels": 16, "activation": "relu", "norm": "bn", "dropout": 0.1, "skip": 2}, {"type": "conv3x3", "channels": 33, "activation": "gelu", "norm": "ln", "dropout": 0.1, "skip": 1}, {"type": "dilated_conv3x3", "channels": 16, "activation": "relu", "norm": "bn", "dropout": 0.25, "skip": 2}, {"type": "avgpool3x3", "dropout": 0.1, "skip": 4}, {"type": "conv1x1", "channels": 64, "activation": "gelu", "norm": "gn", "dropout": 0.25, "skip": 6}, {"type": "depthwise_conv3x3", "activation": "gelu", "norm": "ln", "skip": 2}, {"type": "inverted_residual", "kernel": 5, "channels": 33, "activation": "swish", "norm": "gn", "skip": 4}, {"type": "identity", "dropout": 0.25, "skip": 2}]}, (3, 32, 32), 100, {'channels': 8}, 26748, 11441828),
    ("chain", {"width_multiplier": 0.33, "layers": [{"type": "depthwise_conv3x3", "activation": "hardswish", "norm": "ln"}, {"type": "conv3x3", "channels": 33, "activation": "relu", "norm": "gn", "skip": 2}, {"type": "dilated_conv3x3", "channels": 3, "activation": "hardswish", "norm": "gn", "dropout": 0.25, "skip": 2}, {"type": "depthwise_conv3x3", "activation": "gelu", "norm": "ln", "dropout": 0.1, "skip": 1}, {"type": "conv1x1", "channels": 16, "activation": "swish", "norm": "gn", "dropout": 0.25, "skip": 3}, {"type": "dilated_conv3x3", "channels": 7, "activation": "relu", "norm": "ln", "skip": 3}, {"type": "bottleneck", "kernel": 7, "channels": 7, "activation": "swish", "norm": "gn", "dropout": 0.25, "skip": 4}, {"type": "maxpool3x3", "dropout": 0.1}, {"type": "bottleneck", "kernel": 5, "channels": 33, "activation": "swish", "norm": "gn", "dropout": 0.25, "skip": 5}, {"type": "identity", "dropout": 0.1, "skip": 6}]}, (3, 32, 32), 100, {'channels': 8}, 3035, 1565772),
    ("chain", {"width_multiplier": 0.5, "layers": [{"type": "dilated_conv3x3", "channels": 3, "activation": "gelu", "norm": "bn", "dropout": 0.1}, {"type": "inverted_residual", "kernel": 3, "channels": 7, "activation": "swish", "norm": "bn", "dropout": 0.1, "skip": 2}, {"type": "depthwise_conv3x3", "activation": "gelu", "norm": "bn", "skip": 3}, {"type": "conv1x1", "channels": 16, "activation": "relu", "norm": "bn", "dropout": 0.1}, {"type": "conv3x3", "channels": 16, "activation": "swish", "norm": "ln", "dropout": 0.1, "skip": 3}, {"type": "inverted_residual", "kernel": 1, "channels": 33, "activation": "gelu", "norm": "gn", "skip": 1}, {"type": "maxpool3x3", "skip": 3}, {"type": "avgpool3x3", "skip": 5}, {"type": "conv1x1", "channels": 3, "activation": "gelu", "norm": "bn", "skip": 6}, {"type": "identity", "skip": 1}]}, (3, 17, 17), 7, {'channels': 5}, 3250, 737725),
    ("chain", {"width_multiplier": 1.37, "layers": [{"type": "inverted_residual", "kernel": 5, "channels": 33, "activation": "gelu", "norm": "gn", "skip": 1}, {"type": "maxpool3x3"}, {"type": "conv3x3", "channels": 7, "activation": "gelu", "norm": "bn", "dropout": 0.1}, {"type": "identity", "dropout": 0.1, "skip": 4}, {"type": "avgpool3x3", "dropout": 0.25, "skip": 3}, {"type": "conv1x1", "channels": 16, "activation": "hardswish", "norm": "ln", "dropout": 0.1, "skip": 5}, {"type": "bottleneck", "kernel": 5, "channels": 3, "activation": "relu", "norm": "gn", "dropout": 0.25, "skip": 6}, {"type": "inverted_residual", "kernel": 7, "channels": 3, "activation": "hardswish", "norm": "bn", "dropout": 0.1, "skip": 3}, {"type": "bottleneck", "kernel": 1, "channels": 16, "activation": "relu", "norm": "gn", "skip": 3}, {"type": "avgpool3x3", "dropout": 0.25, "skip": 6}]}, (3, 17, 17), 7, {'channels': 5}, 11243, 1174874),
    ("chain", {"width_multiplier": 1.0, "layers": [{"type": "bottleneck", "kernel": 3, "channels": 7, "activation": "swish", "norm": "gn", "skip": 1}, {"type": "maxpool3x3", "dropout": 0.1}, {"type": "avgpool3x3", "skip": 2}, {"type": "depthwise_conv3x3", "activation": "gelu", "norm": "bn", "dropout": 0.25, "skip": 2}, {"type": "depthwise_conv3x3", "activation": "relu", "norm": "bn", "dropout": 0.25, "skip": 5}, {"type": "depthwise_conv3x3", "activation": "hardswish", "norm": "bn", "dropout": 0.25, "skip": 5}, {"type": "identity", "dropout": 0.1, "skip": 1}, {"type": "bottleneck", "kernel": 7, "channels": 7, "activation": "relu", "norm": "ln", "dropout": 0.25, "skip": 6}, {"type": "dilated_conv3x3", "channels": 64, "activation": "hardswish", "norm": "gn", "skip": 3}]}, (3, 17, 17), 7, {'channels': 5}, 5785, 174822),
    ("chain", {"width_multiplier": 0.5, "layers": [{"type": "inverted_residual", "kernel": 1, "channels": 64, "activation": "gelu", "norm": "gn", "dropout": 0.1, "skip": 1}, {"type": "inverted_residual", "kernel": 3, "channels": 16, "activation": "gelu", "norm": "ln", "dropout": 0.1, "skip": 2}, {"type": "maxpool3x3", "dropout": 0.1, "skip": 3}, {"type": "identity", "skip": 1}, {"type": "dilated_conv3x3", "channels": 16, "activation": "gelu", "norm": "ln", "dropout": 0.1, "skip": 5}, {"type": "depthwise_conv3x3", "activation": "relu", "norm": "ln", "skip": 6}, {"type": "maxpool3x3", "dropout": 0.25, "skip": 2}, {"type": "inverted_residual", "kernel": 7, "channels": 33, "activation": "hardswish", "norm": "bn", "dropout": 0.25, "skip": 2}, {"type": "depthwise_conv3x3", "activation": "swish", "norm": "bn"}]}, (3, 17, 17), 7, {'channels': 5}, 17050, 3303539),
]

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)

# (space, printed arch, input_shape, classes, scale, params)
BURN_BUILT = [
    (
        "chain",
        "w0.75:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2|"
        "inverted_residual-k3-c16-hardswish-ln|depthwise_conv3x3-gelu-bn-d0.2-s3",
        (1, 12, 12),
        4,
        {"channels": 8},
        30_800,
    ),
    (
        "nb201",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|",
        (1, 12, 12),
        4,
        {"channels": 4, "cells": 1},
        11_272,
    ),
    ("darts", DARTS_V2, (1, 12, 12), 4, {"channels": 4, "cells": 3}, 2_252),
]

# The spaces with the settings the fixtures were drawn from: reading a printed form needs its space's settings.
WIDEST = {
    "nb201": "nb201",
    "darts": {"name": "darts", "ops": list(nasforge.torch.DARTS_OPS)},
    "chain": {
        "name": "chain",
        "min_depth": 1,
        "max_depth": 10,
        "channels": [3, 7, 16, 32, 33, 64],
        "kernels": [1, 3, 5, 7],
        "dropouts": [0.0, 0.1, 0.2, 0.25],
        "width_multipliers": [0.33, 0.5, 0.75, 1.0, 1.37, 2.5],
        "max_skip_distance": 6,
    },
}

PUBLISHED = [
    ("nb201", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", (3, 32, 32), 10, {}, 73_306),
    (
        "nb201",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        (3, 32, 32),
        10,
        {},
        1_531_546,
    ),
    ("darts", DARTS_V2, (3, 32, 32), 10, {"channels": 36, "cells": 20}, 3_349_342),
    ("darts", DARTS_V2, (3, 32, 32), 10, {}, 246_106),
]

# (space, printed form, JSON form) as a study stores them.
PRINTED_AND_JSON = [
    (
        "nb201",
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|skip_connect~2|",
        {"nodes": [["nor_conv_3x3"], ["none", "skip_connect"], ["none", "nor_conv_1x1", "skip_connect"]]},
    ),
    (
        "darts",
        "Genotype(normal=[('conv_3x3', 1), ('dil_conv_5x5', 0), ('conv_1x1', 1), ('conv_1x1', 0), "
        "('sep_conv_3x3', 3), ('avg_pool_3x3', 1), ('conv_1x1', 4), ('conv_3x3', 3)], normal_concat=[2, 3, 4, 5], "
        "reduce=[('sep_conv_7x7', 1), ('sep_conv_7x7', 0), ('sep_conv_7x7', 1), ('dil_conv_5x5', 2), "
        "('sep_conv_5x5', 2), ('max_pool_3x3', 0), ('conv_1x1', 2), ('max_pool_3x3', 3)], reduce_concat=[2, 3, 4, 5])",
        {
            "normal": [["conv_3x3", 1], ["dil_conv_5x5", 0], ["conv_1x1", 1], ["conv_1x1", 0], ["sep_conv_3x3", 3],
                       ["avg_pool_3x3", 1], ["conv_1x1", 4], ["conv_3x3", 3]],
            "reduce": [["sep_conv_7x7", 1], ["sep_conv_7x7", 0], ["sep_conv_7x7", 1], ["dil_conv_5x5", 2],
                       ["sep_conv_5x5", 2], ["max_pool_3x3", 0], ["conv_1x1", 2], ["max_pool_3x3", 3]],
        },
    ),
    (
        "chain",
        "w0.33:depthwise_conv3x3-relu-bn|dilated_conv3x3-c7-gelu-ln-d0.1|depthwise_conv3x3-hardswish-bn-s3|"
        "maxpool3x3-d0.1-s2|inverted_residual-k3-c33-gelu-ln-d0.25-s5|dilated_conv3x3-c16-relu-ln-s4|"
        "bottleneck-k1-c3-gelu-gn-s2|identity|conv1x1-c16-swish-ln-d0.1-s3|identity-d0.25-s4",
        {
            "width_multiplier": 0.33,
            "layers": [
                {"type": "depthwise_conv3x3", "activation": "relu", "norm": "bn"},
                {"type": "dilated_conv3x3", "channels": 7, "activation": "gelu", "norm": "ln", "dropout": 0.1},
                {"type": "depthwise_conv3x3", "activation": "hardswish", "norm": "bn", "skip": 3},
                {"type": "maxpool3x3", "dropout": 0.1, "skip": 2},
                {"type": "inverted_residual", "kernel": 3, "channels": 33, "activation": "gelu", "norm": "ln",
                 "dropout": 0.25, "skip": 5},
                {"type": "dilated_conv3x3", "channels": 16, "activation": "relu", "norm": "ln", "skip": 4},
                {"type": "bottleneck", "kernel": 1, "channels": 3, "activation": "gelu", "norm": "gn", "skip": 2},
                {"type": "identity"},
                {"type": "conv1x1", "channels": 16, "activation": "swish", "norm": "ln", "dropout": 0.1, "skip": 3},
                {"type": "identity", "dropout": 0.25, "skip": 4},
            ],
        },
    ),
]


def fixture_id(fixture):
    space, _, shape, classes, scale = fixture[:5]
    return f"{space}-{'x'.join(map(str, shape))}-{classes}-" + "-".join(f"{k}{v}" for k, v in scale.items())


def multiply_accumulates(model, input_shape):
    """Multiply-accumulates of one image through every convolution and the classifier (the Rust `flops`)."""
    total = 0

    def count(module, _inputs, output):
        nonlocal total
        positions = output.shape[2] * output.shape[3] if output.dim() == 4 else 1
        total += module.weight.numel() * positions

    weighted = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    hooks = [m.register_forward_hook(count) for m in weighted]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for hook in hooks:
        hook.remove()
    return total


@pytest.mark.parametrize("fixture", FIXTURES, ids=fixture_id)
def test_parameter_count_equals_nasforge(fixture):
    space, arch, shape, classes, scale, params, _ = fixture
    assert count_parameters(build_model(space, arch, input_shape=shape, classes=classes, **scale)) == params
    # The same architecture as the JSON string a study stores.
    assert count_parameters(build_model(space, json.dumps(arch), input_shape=shape, classes=classes, **scale)) == params


@pytest.mark.parametrize("fixture", FIXTURES, ids=fixture_id)
def test_layer_shapes_give_nasforge_multiply_accumulates(fixture):
    # Equal multiply-accumulates mean every convolution sees the spatial size the Rust network gives it:
    # strides, paddings, reductions and the skips' pooling agree, not only the weights.
    space, arch, shape, classes, scale, _, flops = fixture
    model = build_model(space, arch, input_shape=shape, classes=classes, **scale)
    assert multiply_accumulates(model, shape) == flops


@pytest.mark.parametrize("fixture", BURN_BUILT + PUBLISHED, ids=fixture_id)
def test_printed_form_builds_the_counted_network(fixture):
    space, text, shape, classes, scale, params = fixture
    model = build_model(WIDEST[space], text, input_shape=shape, classes=classes, **scale)
    assert count_parameters(model) == params


@pytest.mark.parametrize("space, text, arch", PRINTED_AND_JSON, ids=[f[0] for f in PRINTED_AND_JSON])
def test_printed_form_reads_as_the_json_form(space, text, arch):
    assert nasforge.arch_forms(WIDEST[space], text)[1] == arch


@pytest.mark.parametrize("fixture", FIXTURES, ids=fixture_id)
def test_forward_and_backward(fixture):
    space, arch, shape, classes, scale, _, _ = fixture
    model = build_model(space, arch, input_shape=shape, classes=classes, **scale)
    model.train()
    logits = model(torch.randn(3, *shape))
    assert logits.shape == (3, classes)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2]) % classes).backward()
    assert model.stem.conv.weight.grad is not None
    assert model.classifier.weight.grad.abs().sum() > 0


def test_zero_nodes_give_zeros_of_the_right_shape():
    # NB201: every edge `none`; the cell outputs zeros and the network still maps to logits.
    nb201 = build_model("nb201", {"nodes": [["none"], ["none", "none"], ["none", "none", "none"]]}, channels=4, cells=1)
    assert nb201(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    # DARTS: a node whose two edges are `none` in both cells (a reduction halves odd sizes rounding up), counted as
    # the same cells with parameter-free pools there.
    pools = [["max_pool_3x3", 0], ["avg_pool_3x3", 1]] * 4
    with_zero = [["none", 0], ["none", 1]] + pools[2:]
    scale = {"input_shape": (3, 15, 15), "classes": 7, "channels": 4, "cells": 3}
    darts = build_model("darts", {"normal": with_zero, "reduce": with_zero}, **scale)
    assert darts(torch.randn(2, 3, 15, 15)).shape == (2, 7)
    assert count_parameters(darts) == count_parameters(build_model("darts", {"normal": pools, "reduce": pools}, **scale))


def test_unknown_space_names_the_spaces():
    with pytest.raises(ValueError, match="nb201, darts, chain"):
        build_model("resnet", {"nodes": []})


def test_unknown_scale_keyword_is_a_type_error():
    arch = {"nodes": [["nor_conv_3x3"], ["none", "skip_connect"], ["none", "none", "skip_connect"]]}
    with pytest.raises(TypeError, match="width"):
        build_model("nb201", arch, width=8)


def test_bad_architectures_are_value_errors():
    with pytest.raises(ValueError, match="unknown nb201 operation 'conv_5x5'"):
        build_model("nb201", {"nodes": [["conv_5x5"], ["none", "none"], ["none", "none", "none"]]})
    with pytest.raises(ValueError, match="input 2 must be below 2"):
        build_model("darts", {"normal": [["skip_connect", 2]] * 8, "reduce": [["skip_connect", 0]] * 8})
    with pytest.raises(ValueError, match="bottleneck needs kernel"):
        build_model("chain", {"width_multiplier": 1.0, "layers": [{"type": "bottleneck", "channels": 16}]})
    with pytest.raises(ValueError, match="channels must be at least 1"):
        build_model("nb201", PRINTED_AND_JSON[0][2], channels=0)

