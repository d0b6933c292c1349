"""PyTorch networks of nasforge architectures.

`build_model` turns an architecture of the ``nb201``, ``darts``, ``chain`` or ``mbconv`` space into a ``torch.nn.Module``
with the same layers and the same trainable parameter count as the burn network nasforge's Rust trainer builds
(``crates/nasforge-train/src/network``) and as the analytic cost models count
(``crates/nasforge-core/src/space/*/network.rs``).

The architecture is the space's JSON form (the ``arch_json`` of a trial, as a dict or a JSON string) or its
printed form (the ``arch`` of a trial). Only this module imports torch: ``import nasforge`` works without it.

Weights are PyTorch's default initialisation, not burn's; batch norm's running variance is PyTorch's unbiased
estimate where burn keeps the biased one. Neither changes the structure or the parameter count.
"""

from __future__ import annotations

import json
import math
import re

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SPACES", "build_model", "count_parameters"]

SPACES = ("nb201", "darts", "chain", "mbconv")

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
DARTS_OPS = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "sep_conv_7x7",
    "conv_1x1",
    "conv_3x3",
    "conv_7x1_1x7",
)
CHAIN_KINDS = (
    "conv3x3",
    "conv1x1",
    "depthwise_conv3x3",
    "dilated_conv3x3",
    "maxpool3x3",
    "avgpool3x3",
    "identity",
    "bottleneck",
    "inverted_residual",
)
CHAIN_SETS_CHANNELS = ("conv3x3", "conv1x1", "dilated_conv3x3", "bottleneck", "inverted_residual")
CHAIN_CHOOSES_KERNEL = ("bottleneck", "inverted_residual")
CHAIN_WEIGHTLESS = ("maxpool3x3", "avgpool3x3", "identity")
CHAIN_ACTIVATIONS = {"relu": nn.ReLU, "swish": nn.SiLU, "hardswish": nn.Hardswish, "gelu": nn.GELU}
CHAIN_NORMS = ("bn", "ln", "gn")

# nasforge_core::space::chain::{BOTTLENECK_REDUCTION, INVERTED_RESIDUAL_EXPANSION}.
BOTTLENECK_REDUCTION = 4
INVERTED_RESIDUAL_EXPANSION = 6

# The spaces' default networks when the scale leaves a knob unset (`Nb201Network::default`,
# `DartsNetwork::default`, `ChainNetwork::default`).
NB201_CHANNELS, NB201_CELLS_PER_STAGE = 16, 5
DARTS_CHANNELS, DARTS_LAYERS = 16, 8
CHAIN_STEM_CHANNELS = 16
# `MbconvSettings::default`: the network's shape outside the searched choices.
MBCONV_NETWORK = {"stage_channels": [16, 24, 40, 64], "stage_strides": [1, 2, 2, 2], "stem_channels": 16, "head_channels": 128}
MBCONV_ACTIVATIONS = {"relu": nn.ReLU, "hswish": nn.Hardswish}
# nasforge_core::space::mbconv::SE_REDUCTION.
SE_REDUCTION = 4


# --- layers ---------------------------------------------------------------------------------------------------


def conv(c_in, c_out, kernel, stride=1, dilation=1, groups=1):
    """A convolution without bias whose padding keeps the size at stride 1 (`ConvSpec::init`).

    ``kernel`` and ``stride`` are an int or an (height, width) pair.
    """
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    padding = (dilation * (kh - 1) // 2, dilation * (kw - 1) // 2)
    return nn.Conv2d(
        c_in, c_out, (kh, kw), stride=stride, padding=padding, dilation=dilation, groups=groups, bias=False
    )


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channels at each position of an NCHW tensor (the chain space's ``ln``)."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def chain_norm(kind, channels):
    """The chain space's normalisation ``bn``, ``ln`` or ``gn`` (``gcd(channels, 32)`` groups)."""
    if kind == "bn":
        return nn.BatchNorm2d(channels)
    if kind == "ln":
        return ChannelLayerNorm(channels)
    return nn.GroupNorm(math.gcd(channels, 32), channels)


class ConvUnit(nn.Module):
    """``[ReLU] → conv → [norm] → activation``, the unit every convolution of every space is built of."""

    def __init__(self, convolution, norm=None, act=None, pre_relu=False):
        super().__init__()
        self.pre_relu = pre_relu
        self.conv = convolution
        self.norm = norm if norm is not None else nn.Identity()
        self.act = act if act is not None else nn.Identity()

    @classmethod
    def relu_conv_bn(cls, convolution):
        """ReLU-Conv-BN, as NAS-Bench-201 and DARTS use."""
        return cls(convolution, nn.BatchNorm2d(convolution.out_channels), pre_relu=True)

    def forward(self, x):
        if self.pre_relu:
            x = F.relu(x)
        return self.act(self.norm(self.conv(x)))


class Zero(nn.Module):
    """The ``none`` operation: its edge contributes nothing to its node's sum (``forward`` returns None)."""

    def forward(self, x):
        return None


def node_sum(terms, empty):
    """The sum of a node's incoming terms, skipping ``None`` (zero edges); ``empty()`` when all are zero."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return empty()
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def global_pool(x):
    """Global average pooling ``[n, c, h, w] → [n, c]``."""
    return x.mean(dim=(2, 3))


# --- NAS-Bench-201 --------------------------------------------------------------------------------------------


def nb201_edge(op, channels):
    """The module of one NAS-Bench-201 edge."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ConvUnit.relu_conv_bn(conv(channels, channels, 1))
    if op == "nor_conv_3x3":
        return ConvUnit.relu_conv_bn(conv(channels, channels, 3))
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Nb201Cell(nn.Module):
    """A NAS-Bench-201 cell: four nodes, node ``to`` the sum of the edges from every earlier node.

    ``edges`` is in the printed order: edge ``(to, from)`` is ``edges[to * (to - 1) // 2 + from]``.
    """

    def __init__(self, ops, channels):
        super().__init__()
        self.edges = nn.ModuleList(nb201_edge(op, channels) for op in ops)

    def forward(self, x):
        nodes = [x]
        for to in range(1, 4):
            first = to * (to - 1) // 2
            terms = [self.edges[first + i](node) for i, node in enumerate(nodes)]
            nodes.append(node_sum(terms, lambda: torch.zeros_like(x)))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's residual reduction block: ReLU-Conv 3×3 (stride 2)-BN, ReLU-Conv 3×3-BN, plus a shortcut
    of 2×2 average pooling and a 1×1 convolution."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ConvUnit.relu_conv_bn(conv(c_in, c_out, 3, stride=2))
        self.conv_b = ConvUnit.relu_conv_bn(conv(c_out, c_out, 3))
        self.pool = nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False)
        self.shortcut = conv(c_in, c_out, 1)

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.shortcut(self.pool(x))


class Nb201Net(nn.Module):
    """The NAS-Bench-201 network: stem conv 3×3 + BN, three stages of ``cells_per_stage`` cells with C, 2C and
    4C channels joined by residual reductions, BN + ReLU, global average pooling, linear classifier."""

    def __init__(self, ops, input_channels, classes, channels, cells_per_stage):
        super().__init__()
        c = channels
        self.stem = ConvUnit(conv(input_channels, c, 3), nn.BatchNorm2d(c))
        blocks = []
        for stage in range(3):
            if stage > 0:
                blocks.append(ResidualReduction(c, 2 * c))
                c *= 2
            blocks.extend(Nb201Cell(ops, c) for _ in range(cells_per_stage))
        self.blocks = nn.Sequential(*blocks)
        self.last_norm = nn.BatchNorm2d(c)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.classifier(global_pool(F.relu(self.last_norm(x))))


def nb201_ops(arch):
    """The six edge operations of an NB201 JSON form ``{"nodes": [[op], [op, op], [op, op, op]]}``."""
    nodes = arch.get("nodes") if isinstance(arch, dict) else None
    if not isinstance(nodes, list) or [len(node) for node in nodes] != [1, 2, 3]:
        raise ValueError(f"nb201 architecture: expected {{'nodes': [[op], [op, op], [op, op, op]]}}, got {arch!r}")
    ops = [op for node in nodes for op in node]
    for op in ops:
        check_name("nb201 operation", op, NB201_OPS)
    return ops


# --- DARTS ----------------------------------------------------------------------------------------------------


class FactorizedReduce(nn.Module):
    """FactorizedReduce: ReLU, two 1×1 stride-2 convolutions (the second on the input shifted by one pixel,
    padded back at the bottom/right), concatenated, BN."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_1 = conv(c_in, c_out // 2, 1, stride=2)
        self.conv_2 = conv(c_in, c_out - c_out // 2, 1, stride=2)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = F.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.norm(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def darts_separable(c, kernel, stride, dilation):
    """ReLU, depthwise k×k (stride, dilation), pointwise 1×1, BN: two units."""
    return [
        ConvUnit(conv(c, c, kernel, stride=stride, dilation=dilation, groups=c), pre_relu=True),
        ConvUnit(conv(c, c, 1), nn.BatchNorm2d(c)),
    ]


def darts_edge(op, c, stride):
    """The module of one DARTS edge on ``c`` channels (stride 2 on a reduction cell's inputs)."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if op == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if op.startswith("sep_conv_"):
        k = int(op[-1])
        return nn.Sequential(*darts_separable(c, k, stride, 1), *darts_separable(c, k, 1, 1))
    if op.startswith("dil_conv_"):
        return nn.Sequential(*darts_separable(c, int(op[-1]), stride, 2))
    if op in ("conv_1x1", "conv_3x3"):
        return ConvUnit.relu_conv_bn(conv(c, c, int(op[-1]), stride=stride))
    # conv_7x1_1x7: ReLU, 1×7 conv (stride in width), 7×1 conv (stride in height), BN.
    return nn.Sequential(
        ConvUnit(conv(c, c, (1, 7), stride=(1, stride)), pre_relu=True),
        ConvUnit(conv(c, c, (7, 1), stride=(stride, 1)), nn.BatchNorm2d(c)),
    )


class DartsCell(nn.Module):
    """A DARTS cell: c_{k-2} and c_{k-1} preprocessed to C channels, four nodes each the sum of two edges, the
    four nodes concatenated (4C channels). A reduction cell's edges from its inputs have stride 2."""

    def __init__(self, pairs, c_prev_prev, c_prev, c, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.pre0 = FactorizedReduce(c_prev_prev, c)
        else:
            self.pre0 = ConvUnit.relu_conv_bn(conv(c_prev_prev, c, 1))
        self.pre1 = ConvUnit.relu_conv_bn(conv(c_prev, c, 1))
        self.inputs = [node_input for _, node_input in pairs]
        self.edges = nn.ModuleList(
            darts_edge(op, c, 2 if reduction and node_input < 2 else 1) for op, node_input in pairs
        )

    def forward(self, s0, s1):
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(len(self.edges) // 2):
            terms = [self.edges[e](states[self.inputs[e]]) for e in (2 * node, 2 * node + 1)]
            states.append(node_sum(terms, lambda: self.zero_node(states[1])))
        return torch.cat(states[2:], dim=1)

    def zero_node(self, reference):
        """A node whose two edges are ``none``: zeros of the cell's output shape."""
        n, c, h, w = reference.shape
        if self.reduction:
            h, w = -(-h // 2), -(-w // 2)
        return reference.new_zeros(n, c, h, w)


class DartsNet(nn.Module):
    """The DARTS CIFAR evaluation network (``NetworkCIFAR``, no auxiliary head, no drop path): stem conv 3×3 to
    3C + BN, ``layers`` cells with reductions (doubling C) at cells ``layers // 3`` and ``2 * layers // 3``,
    global average pooling, linear classifier."""

    def __init__(self, arch, input_channels, classes, channels, layers):
        super().__init__()
        stem_c = 3 * channels
        self.stem = ConvUnit(conv(input_channels, stem_c, 3), nn.BatchNorm2d(stem_c))
        c_prev_prev, c_prev, c = stem_c, stem_c, channels
        reduction_prev = False
        cells = []
        for layer in range(layers):
            reduction = layer in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            pairs = arch["reduce"] if reduction else arch["normal"]
            cells.append(DartsCell(pairs, c_prev_prev, c_prev, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, 4 * c
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(global_pool(s1))


def darts_cells(arch):
    """The checked ``{"normal": [[op, input], ×8], "reduce": [...]}`` form, as (op, input) tuples."""
    cells = {}
    for name in ("normal", "reduce"):
        pairs = arch.get(name) if isinstance(arch, dict) else None
        if not isinstance(pairs, list) or len(pairs) != 8:
            raise ValueError(f"darts architecture: field {name!r} must list 8 [operation, input] pairs, got {pairs!r}")
        cells[name] = []
        for k, (op, node_input) in enumerate(pairs):
            check_name("darts operation", op, DARTS_OPS)
            if not isinstance(node_input, int) or not 0 <= node_input < k // 2 + 2:
                raise ValueError(f"darts architecture: {name}[{k}]: input {node_input!r} must be below {k // 2 + 2}")
            cells[name].append((op, node_input))
    return cells


# --- chain ----------------------------------------------------------------------------------------------------


def percent(value):
    """A decimal of the JSON form (width multiplier, dropout) in whole percent."""
    return round(value * 100)


class ChainSkip(nn.Module):
    """A chain layer's skip: node ``from_node`` resized to the layer's output by adaptive average pooling when
    the sizes differ, projected by a 1×1 conv + BN when the channel counts differ."""

    def __init__(self, from_node, from_channels, out_channels):
        super().__init__()
        self.from_node = from_node
        if from_channels != out_channels:
            self.project = ConvUnit(conv(from_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.project = nn.Identity()

    def forward(self, source, output):
        if source.shape[-2:] != output.shape[-2:]:
            source = F.adaptive_avg_pool2d(source, output.shape[-2:])
        return self.project(source)


class ChainLayer(nn.Module):
    """One chain layer: its body (convolutions, a pool or the identity), optional dropout, optional skip."""

    def __init__(self, layer, width_percent, c_in, from_node, from_channels):
        super().__init__()
        self.out_channels = c_in
        if "channels" in layer:
            self.out_channels = max((layer["channels"] * width_percent + 50) // 100, 1)
        self.body = self.make_body(layer, c_in, self.out_channels)
        dropout = percent(layer.get("dropout", 0))
        self.dropout = nn.Dropout(dropout / 100) if dropout > 0 else nn.Identity()
        self.skip = ChainSkip(from_node, from_channels, self.out_channels) if from_node is not None else None

    @staticmethod
    def make_body(layer, c_in, c_out):
        """The layer's computation, by its type (see the chain space's module docs)."""
        kind = layer["type"]
        if kind == "maxpool3x3":
            return nn.MaxPool2d(3, stride=2, padding=1)
        if kind == "avgpool3x3":
            return nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        if kind == "identity":
            return nn.Identity()
        act = CHAIN_ACTIVATIONS[layer["activation"]]
        kernel = layer.get("kernel", 3)

        def unit(convolution, activation=act):
            return ConvUnit(convolution, chain_norm(layer["norm"], convolution.out_channels), activation())

        if kind == "conv3x3":
            units = [unit(conv(c_in, c_out, 3))]
        elif kind == "conv1x1":
            units = [unit(conv(c_in, c_out, 1))]
        elif kind == "depthwise_conv3x3":
            units = [unit(conv(c_in, c_in, 3, groups=c_in))]
        elif kind == "dilated_conv3x3":
            units = [unit(conv(c_in, c_out, 3, dilation=2))]
        elif kind == "bottleneck":
            middle = max(c_out // BOTTLENECK_REDUCTION, 1)
            units = [unit(conv(c_in, middle, 1)), unit(conv(middle, middle, kernel)), unit(conv(middle, c_out, 1))]
        else:  # inverted_residual; the last 1×1 is linear
            hidden = c_in * INVERTED_RESIDUAL_EXPANSION
            units = [
                unit(conv(c_in, hidden, 1)),
                unit(conv(hidden, hidden, kernel, groups=hidden)),
                unit(conv(hidden, c_out, 1), nn.Identity),
            ]
        return nn.Sequential(*units)

    def forward(self, nodes):
        y = self.dropout(self.body(nodes[-1]))
        if self.skip is not None:
            y = y + self.skip(nodes[self.skip.from_node], y)
        return y


class ChainNet(nn.Module):
    """A chain network: stem conv 3×3 + BN + ReLU to ``stem_channels`` (not width-scaled), the layers (layer
    ``i`` reads node ``i - 1``; node 0 is the stem's output), global average pooling, linear classifier."""

    def __init__(self, arch, input_channels, classes, stem_channels):
        super().__init__()
        self.stem = ConvUnit(conv(input_channels, stem_channels, 3), nn.BatchNorm2d(stem_channels), nn.ReLU())
        width_percent = percent(arch["width_multiplier"])
        node_channels = [stem_channels]
        layers = []
        for i, layer in enumerate(arch["layers"]):
            from_node = i + 1 - layer["skip"] if "skip" in layer else None
            from_channels = node_channels[from_node] if from_node is not None else None
            layers.append(ChainLayer(layer, width_percent, node_channels[i], from_node, from_channels))
            node_channels.append(layers[-1].out_channels)
        self.layers = nn.ModuleList(layers)
        self.classifier = nn.Linear(node_channels[-1], classes)

    def forward(self, x):
        nodes = [self.stem(x)]
        for layer in self.layers:
            nodes.append(layer(nodes))
        return self.classifier(global_pool(nodes[-1]))


def chain_layers(arch):
    """The checked ``{"width_multiplier": w, "layers": [{"type": …, …}, …]}`` form."""
    if not isinstance(arch, dict) or not isinstance(arch.get("layers"), list) or not arch["layers"]:
        raise ValueError(f"chain architecture: expected {{'width_multiplier': w, 'layers': [...]}}, got {arch!r}")
    if percent(arch.get("width_multiplier", 0)) <= 0:
        raise ValueError(f"chain architecture: width_multiplier must be above 0, got {arch.get('width_multiplier')!r}")
    for number, layer in enumerate(arch["layers"], start=1):
        kind = layer.get("type")
        check_name(f"chain layer {number} type", kind, CHAIN_KINDS)
        takes = {
            "channels": kind in CHAIN_SETS_CHANNELS,
            "kernel": kind in CHAIN_CHOOSES_KERNEL,
            "activation": kind not in CHAIN_WEIGHTLESS,
            "norm": kind not in CHAIN_WEIGHTLESS,
        }
        for field, wanted in takes.items():
            if (field in layer) != wanted:
                verb = "needs" if wanted else "takes no"
                raise ValueError(f"chain layer {number}: {kind} {verb} {field}")
        if "activation" in layer:
            check_name(f"chain layer {number} activation", layer["activation"], tuple(CHAIN_ACTIVATIONS))
            check_name(f"chain layer {number} norm", layer["norm"], CHAIN_NORMS)
        if "skip" in layer and not 1 <= layer["skip"] <= number:
            raise ValueError(f"chain layer {number}: skip distance {layer['skip']} must be between 1 and {number}")
    return arch


# --- mbconv -----------------------------------------------------------------------------------------------------


def scaled(channels, width_percent):
    """``round(channels × width)``, at least 1, as the Rust side rounds."""
    return max((channels * width_percent + 50) // 100, 1)


class SqueezeExcite(nn.Module):
    """A gate per channel: global average pool, linear + ReLU, linear + sigmoid."""

    def __init__(self, channels, squeeze):
        super().__init__()
        self.reduce = nn.Linear(channels, squeeze)
        self.expand = nn.Linear(squeeze, channels)

    def forward(self, x):
        gate = torch.sigmoid(self.expand(F.relu(self.reduce(global_pool(x)))))
        return x * gate[:, :, None, None]


class MbBlock(nn.Module):
    """MBConv: 1×1 expansion, k×k depthwise (the block's stride), optional squeeze-and-excitation, linear 1×1
    projection, the input added at stride 1 with equal channels."""

    def __init__(self, block, c_in, c_out, stride):
        super().__init__()
        act = MBCONV_ACTIVATIONS[block["activation"]]
        hidden = c_in * block["expansion"]
        self.expand = ConvUnit(conv(c_in, hidden, 1), nn.BatchNorm2d(hidden), act())
        self.depthwise = ConvUnit(
            conv(hidden, hidden, block["kernel"], stride=stride, groups=hidden), nn.BatchNorm2d(hidden), act()
        )
        self.se = SqueezeExcite(hidden, max(hidden // SE_REDUCTION, 1)) if block["se"] else nn.Identity()
        self.project = ConvUnit(conv(hidden, c_out, 1), nn.BatchNorm2d(c_out), nn.Identity())
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return y + x if self.residual else y


class MbconvNet(nn.Module):
    """An mbconv network: the input resized (bilinear, half-pixel) to the searched resolution, stem 3×3 + BN +
    ReLU, the stages' blocks, head 1×1 + BN + ReLU, global average pooling, linear classifier."""

    def __init__(self, arch, network, input_shape, classes, stem_channels):
        super().__init__()
        width = percent(arch["width_multiplier"])
        self.resolution = max((input_shape[1] * percent(arch["resolution"]) + 50) // 100, 1)
        self.input_size = input_shape[1]
        channels = scaled(stem_channels or network["stem_channels"], width)
        self.stem = ConvUnit(conv(input_shape[0], channels, 3), nn.BatchNorm2d(channels), nn.ReLU())
        blocks = []
        for blocks_of_stage, stage_channels, stride in zip(arch["stages"], network["stage_channels"], network["stage_strides"]):
            out = scaled(stage_channels, width)
            for i, block in enumerate(blocks_of_stage):
                blocks.append(MbBlock(block, channels, out, stride if i == 0 else 1))
                channels = out
        self.blocks = nn.Sequential(*blocks)
        head = network["head_channels"]
        self.head = ConvUnit(conv(channels, head, 1), nn.BatchNorm2d(head), nn.ReLU())
        self.classifier = nn.Linear(head, classes)

    def forward(self, x):
        if self.resolution != self.input_size:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)
        return self.classifier(global_pool(self.head(self.blocks(self.stem(x)))))


def mbconv_arch(arch, network):
    """The checked ``{"width_multiplier", "resolution", "stages": [[{"kernel", "expansion", "se",
    "activation"}, …], …]}`` form."""
    if not isinstance(arch, dict) or not isinstance(arch.get("stages"), list):
        raise ValueError(f"mbconv architecture: expected {{'width_multiplier', 'resolution', 'stages'}}, got {arch!r}")
    if len(arch["stages"]) != len(network["stage_channels"]):
        raise ValueError(
            f"mbconv architecture has {len(arch['stages'])} stages; the space has {len(network['stage_channels'])}"
        )
    for s, blocks in enumerate(arch["stages"], start=1):
        for b, block in enumerate(blocks, start=1):
            check_name(f"mbconv stage {s}, block {b} activation", block.get("activation"), tuple(MBCONV_ACTIVATIONS))
    return arch


def check_name(what, name, allowed):
    """Raises ValueError unless ``name`` is one of ``allowed``."""
    if name not in allowed:
        raise ValueError(f"unknown {what} {name!r} (expected one of {', '.join(allowed)})")


# --- entry points ---------------------------------------------------------------------------------------------


def build_model(space, arch, *, input_shape=(1, 28, 28), classes=10, channels=None, cells=None):
    """The PyTorch network of ``arch`` in ``space``, as nasforge's trainer builds it.

    - ``space``: ``"nb201"``, ``"darts"``, ``"chain"`` or ``"mbconv"``, or the space's table with its settings (``{"name":
      "darts", "operations": […]}``), which reading a printed form with operations beyond the defaults needs.
    - ``arch``: the space's JSON form as a dict (a trial's ``arch_json``), or a string: JSON when it starts with
      ``{`` or ``[``, else the space's printed form (a trial's ``arch``).
    - ``input_shape``: ``(channels, height, width)`` of one image; only the channels shape the network (it
      ends in global average pooling), but the Rust trainer builds for square images of this size.
    - ``classes``: the classifier's outputs.
    - ``channels``, ``cells``: the scale (Rust ``NetworkScale``), ``None`` for the space's default. nb201: C
      (16) and cells per stage (5); darts: C (16) and cells in all (8); chain: the stem's channels (16), cells
      unused; mbconv: the stem's channels before the width multiplier (16), cells unused. An mbconv space's
      table may change its stages (``stage_channels``, ``stage_strides``, ``stem_channels``, ``head_channels``).

    The module maps a batch ``[n, channels, height, width]`` to logits ``[n, classes]``.
    """
    table, space = space, space if isinstance(space, str) else space.get("name")
    check_name("space", space, SPACES)
    if isinstance(arch, str):
        if arch.lstrip().startswith(("{", "[")):
            arch = json.loads(arch)
        else:
            from . import arch_forms  # the Rust parsers; `nasforge export` files pass the JSON form only

            arch = arch_forms(table, arch)[1]
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
    for name, value in (("channels", channels), ("cells", cells)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    input_channels = input_shape[0]
    if space == "nb201":
        return Nb201Net(
            nb201_ops(arch),
            input_channels,
            classes,
            channels or NB201_CHANNELS,
            cells or NB201_CELLS_PER_STAGE,
        )
    if space == "darts":
        return DartsNet(darts_cells(arch), input_channels, classes, channels or DARTS_CHANNELS, cells or DARTS_LAYERS)
    if space == "mbconv":
        network = dict(MBCONV_NETWORK)
        if isinstance(table, dict):
            network.update({key: table[key] for key in MBCONV_NETWORK if key in table})
        return MbconvNet(mbconv_arch(arch, network), network, input_shape, classes, channels)
    return ChainNet(chain_layers(arch), input_channels, classes, channels or CHAIN_STEM_CHANNELS)


def count_parameters(model):
    """Trainable parameters of ``model`` (batch norm's running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
