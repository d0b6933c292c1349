//! An ONNX graph under construction: fresh value names, initializers read from burn's parameters, and one
//! method per operator the networks use, each returning the name of its output.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;

use super::proto::{self, Attribute, Node, TensorProto};

/// A value of the graph, by name.
pub(crate) type Value = String;

#[derive(Default)]
pub(crate) struct OnnxGraph {
    pub(super) nodes: Vec<Node>,
    pub(super) initializers: Vec<TensorProto>,
    counter: usize,
}

pub(crate) fn onnx_int(name: &str, value: i64) -> Attribute {
    Attribute { name: name.to_string(), i: Some(value), r#type: 2, ..Attribute::default() }
}

pub(crate) fn onnx_ints(name: &str, values: &[usize]) -> Attribute {
    Attribute {
        name: name.to_string(),
        ints: values.iter().map(|&v| v as i64).collect(),
        r#type: 7,
        ..Default::default()
    }
}

pub(crate) fn onnx_float(name: &str, value: f64) -> Attribute {
    Attribute { name: name.to_string(), f: Some(value as f32), r#type: 1, ..Attribute::default() }
}

fn onnx_string(name: &str, value: &str) -> Attribute {
    Attribute { name: name.to_string(), s: Some(value.as_bytes().to_vec()), r#type: 3, ..Attribute::default() }
}

/// ONNX's `pads` (`[top, left, bottom, right]`), or `auto_pad` for burn's `Same`.
fn padding(config: &PaddingConfig2d) -> Attribute {
    match *config {
        PaddingConfig2d::Explicit(top, left, bottom, right) => onnx_ints("pads", &[top, left, bottom, right]),
        PaddingConfig2d::Valid => onnx_ints("pads", &[0, 0, 0, 0]),
        PaddingConfig2d::Same => onnx_string("auto_pad", "SAME_UPPER"),
    }
}

impl OnnxGraph {
    fn fresh(&mut self, prefix: &str) -> Value {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// A float initializer holding `tensor`'s values.
    pub(crate) fn weights<const D: usize>(&mut self, prefix: &str, tensor: Tensor<D>) -> Value {
        let dims = tensor.dims().iter().map(|&d| d as i64).collect();
        let values = tensor.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 data after conversion");
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(prefix, dims, proto::FLOAT, raw_data)
    }

    /// A float initializer of the given shape and values.
    pub(crate) fn constant(&mut self, prefix: &str, dims: &[usize], values: &[f32]) -> Value {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(prefix, dims.iter().map(|&d| d as i64).collect(), proto::FLOAT, raw_data)
    }

    /// A one-dimensional int64 initializer (shapes, pads, axes).
    pub(crate) fn int64s(&mut self, prefix: &str, values: &[i64]) -> Value {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(prefix, vec![values.len() as i64], proto::INT64, raw_data)
    }

    fn initializer(&mut self, prefix: &str, dims: Vec<i64>, data_type: i32, raw_data: Vec<u8>) -> Value {
        let name = self.fresh(prefix);
        self.initializers.push(TensorProto { dims, data_type, name: name.clone(), raw_data });
        name
    }

    /// Appends a node of `op` and returns its output.
    pub(crate) fn node(&mut self, op: &str, inputs: &[&Value], attribute: Vec<Attribute>) -> Value {
        let output = self.fresh(&op.to_lowercase());
        self.nodes.push(Node {
            input: inputs.iter().map(|v| v.to_string()).collect(),
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op.to_string(),
            attribute,
        });
        output
    }

    /// Makes `x` available as the graph output `name`.
    pub(super) fn name_output(&mut self, x: &Value, name: &str) {
        self.nodes.push(Node {
            input: vec![x.clone()],
            output: vec![name.to_string()],
            name: name.to_string(),
            op_type: "Identity".to_string(),
            attribute: Vec::new(),
        });
    }

    pub(crate) fn conv(&mut self, conv: &Conv2d, x: &Value) -> Value {
        let weight = self.weights("conv_weight", conv.weight.val());
        let mut inputs = vec![x, &weight];
        let bias = conv.bias.as_ref().map(|bias| self.weights("conv_bias", bias.val()));
        inputs.extend(bias.as_ref());
        let attributes = vec![
            onnx_ints("kernel_shape", &conv.kernel_size),
            onnx_ints("strides", &conv.stride),
            onnx_ints("dilations", &conv.dilation),
            onnx_int("group", conv.groups as i64),
            padding(&conv.padding),
        ];
        self.node("Conv", &inputs, attributes)
    }

    /// Batch norm with the running statistics (inference).
    pub(crate) fn batch_norm(&mut self, norm: &BatchNorm, x: &Value) -> Value {
        let scale = self.weights("bn_scale", norm.gamma.val());
        let bias = self.weights("bn_bias", norm.beta.val());
        let mean = self.weights("bn_mean", norm.running_mean.value());
        let var = self.weights("bn_var", norm.running_var.value());
        self.node("BatchNormalization", &[x, &scale, &bias, &mean, &var], vec![onnx_float("epsilon", norm.epsilon)])
    }

    pub(crate) fn avg_pool(&mut self, pool: &AvgPool2d, x: &Value) -> Value {
        let attributes = vec![
            onnx_ints("kernel_shape", &pool.kernel_size),
            onnx_ints("strides", &pool.stride),
            padding(&pool.padding),
            onnx_int("count_include_pad", i64::from(pool.count_include_pad)),
            onnx_int("ceil_mode", i64::from(pool.ceil_mode)),
        ];
        self.node("AveragePool", &[x], attributes)
    }

    pub(crate) fn max_pool(&mut self, pool: &MaxPool2d, x: &Value) -> Value {
        let attributes = vec![
            onnx_ints("kernel_shape", &pool.kernel_size),
            onnx_ints("strides", &pool.stride),
            onnx_ints("dilations", &pool.dilation),
            padding(&pool.padding),
            onnx_int("ceil_mode", i64::from(pool.ceil_mode)),
        ];
        self.node("MaxPool", &[x], attributes)
    }

    /// `x · W + b` (burn stores `W` as `[inputs, outputs]`).
    pub(crate) fn linear(&mut self, linear: &Linear, x: &Value) -> Value {
        let weight = self.weights("linear_weight", linear.weight.val());
        let mut inputs = vec![x, &weight];
        let bias = linear.bias.as_ref().map(|bias| self.weights("linear_bias", bias.val()));
        inputs.extend(bias.as_ref());
        self.node("Gemm", &inputs, Vec::new())
    }

    pub(crate) fn relu(&mut self, x: &Value) -> Value {
        self.node("Relu", &[x], Vec::new())
    }

    pub(crate) fn add(&mut self, a: &Value, b: &Value) -> Value {
        self.node("Add", &[a, b], Vec::new())
    }

    pub(crate) fn mul(&mut self, a: &Value, b: &Value) -> Value {
        self.node("Mul", &[a, b], Vec::new())
    }

    /// Concatenation along the channels.
    pub(crate) fn concat_channels(&mut self, values: &[Value]) -> Value {
        let inputs: Vec<&Value> = values.iter().collect();
        self.node("Concat", &inputs, vec![onnx_int("axis", 1)])
    }

    /// `[n, c, h, w]` → `[n, c]`.
    pub(crate) fn global_pool(&mut self, x: &Value) -> Value {
        let pooled = self.node("GlobalAveragePool", &[x], Vec::new());
        self.node("Flatten", &[&pooled], vec![onnx_int("axis", 1)])
    }

    /// Zeros of `x`'s shape.
    pub(crate) fn zeros_like(&mut self, x: &Value) -> Value {
        let zero = self.constant("zero", &[], &[0.0]);
        self.mul(x, &zero)
    }

    /// `x[:, :, from.., from..]` over the last two axes.
    pub(crate) fn crop_top_left(&mut self, x: &Value, from: i64) -> Value {
        let starts = self.int64s("starts", &[from, from]);
        let ends = self.int64s("ends", &[i64::MAX, i64::MAX]);
        let axes = self.int64s("axes", &[2, 3]);
        self.node("Slice", &[x, &starts, &ends, &axes], Vec::new())
    }

    /// Zero padding of the last two axes at their ends.
    pub(crate) fn pad_bottom_right(&mut self, x: &Value, by: i64) -> Value {
        let pads = self.int64s("pads", &[0, 0, 0, 0, 0, 0, by, by]);
        self.node("Pad", &[x, &pads], Vec::new())
    }

    /// Every second row and column (`ceil(side / 2)` of each), as a stride-2 reduction's output shape.
    pub(crate) fn subsample(&mut self, x: &Value) -> Value {
        self.node("AveragePool", &[x], vec![onnx_ints("kernel_shape", &[1, 1]), onnx_ints("strides", &[2, 2])])
    }

    /// Adaptive average pooling of a `from`×`from` input to `to`×`to` (PyTorch's windows: output `i` averages
    /// inputs `⌊i·from/to⌋ .. ⌈(i+1)·from/to⌉`).
    pub(crate) fn adaptive_avg_pool(&mut self, x: &Value, from: usize, to: usize) -> Value {
        let mut rows = vec![0f32; to * from];
        for i in 0..to {
            let (start, end) = (i * from / to, ((i + 1) * from).div_ceil(to));
            for j in start..end {
                rows[i * from + j] = 1.0 / (end - start) as f32;
            }
        }
        self.separable(x, from, to, &rows)
    }

    /// Bilinear resizing of a `from`×`from` input to `to`×`to` with half-pixel centres (burn's and PyTorch's
    /// `align_corners = false`: output `i` reads input `(i + ½)·from/to − ½`, clamped at 0).
    pub(crate) fn resize_bilinear(&mut self, x: &Value, from: usize, to: usize) -> Value {
        let mut rows = vec![0f32; to * from];
        let ratio = from as f64 / to as f64;
        for i in 0..to {
            let source = ((i as f64 + 0.5) * ratio - 0.5).max(0.0);
            let low = (source.floor() as usize).min(from - 1);
            let high = (low + 1).min(from - 1);
            let weight = (source - low as f64) as f32;
            rows[i * from + low] += 1.0 - weight;
            rows[i * from + high] += weight;
        }
        self.separable(x, from, to, &rows)
    }

    /// The same linear map `M` (`to × from`, row-major) over both spatial axes: `M · x · Mᵀ`.
    fn separable(&mut self, x: &Value, from: usize, to: usize, rows: &[f32]) -> Value {
        let columns: Vec<f32> = (0..from * to).map(|k| rows[(k % to) * from + k / to]).collect();
        let map_rows = self.constant("map_rows", &[to, from], rows);
        let map_columns = self.constant("map_columns", &[from, to], &columns);
        let narrowed = self.node("MatMul", &[x, &map_columns], Vec::new());
        self.node("MatMul", &[&map_rows, &narrowed], Vec::new())
    }
}
