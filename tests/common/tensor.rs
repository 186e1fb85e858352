//! The fixture ops of tensor backends: reductions, shape ops, matmul, nn functions and the
//! tensor composites.

use super::{elementwise, Case};
use ferrograd::nn::functional::{self as f, Reduction};
use ferrograd::{Indices, TensorOps, Variable};

/// The case's integer input `i` as indices.
pub fn indices(case: &Case, i: usize) -> Indices {
    let t = &case.inputs[i];
    assert!(t.is_int, "{}: input {i} is not an index tensor", case.name);
    Indices::from_i64(&t.indices(), &t.shape).expect("fixture indices")
}

fn reduction(case: &Case) -> Reduction {
    match case.attr_str("reduction") {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        other => panic!("{}: reduction {other}", case.name),
    }
}

fn usize_list(case: &Case, key: &str) -> Vec<usize> {
    case.attr_dims(key)
        .into_iter()
        .map(|d| d as usize)
        .collect()
}

/// Applies any fixture op on a tensor backend (elementwise ones included), or `None` if
/// `case.op` is unknown.
pub fn apply<B: TensorOps>(case: &Case, x: &[Variable<B>]) -> Option<Variable<B>> {
    if let Some(y) = elementwise::apply(case, x) {
        return Some(y);
    }
    let dim = |key: &str| case.attr_i64(key) as isize;
    let y = match case.op.as_str() {
        // reductions.json
        "sum" => x[0].sum_dims(&case.attr_dims("dims"), case.attr_bool("keepdim")),
        "mean" => x[0].mean_dims(&case.attr_dims("dims"), case.attr_bool("keepdim")),
        "sum_all" => x[0].sum(),
        "mean_all" => x[0].mean(),
        "max" => x[0].max_dim(dim("dim"), case.attr_bool("keepdim")),
        "min" => x[0].min_dim(dim("dim"), case.attr_bool("keepdim")),
        "logsumexp" => x[0].logsumexp(dim("dim"), case.attr_bool("keepdim")),
        "var" => x[0].var(
            &case.attr_dims("dims"),
            case.attr_i64("correction") as usize,
            case.attr_bool("keepdim"),
        ),
        // shape.json
        "reshape" => x[0].reshape(&case.attr_dims("shape")),
        "transpose" => x[0].transpose(dim("dim0"), dim("dim1")),
        "permute" => x[0].permute(&case.attr_dims("dims")),
        "expand" => x[0].expand(&usize_list(case, "shape")),
        "squeeze" => x[0].squeeze(dim("dim")),
        "unsqueeze" => x[0].unsqueeze(dim("dim")),
        "narrow" => x[0].narrow(
            dim("dim"),
            case.attr_i64("start") as usize,
            case.attr_i64("length") as usize,
        ),
        "cat" => Variable::cat(&x.iter().collect::<Vec<_>>(), dim("dim")),
        "stack" => Variable::stack(&x.iter().collect::<Vec<_>>(), dim("dim")),
        "index_select" => x[0].index_select(dim("dim"), &indices(case, 1)).unwrap(),
        "gather" => x[0].gather(dim("dim"), &indices(case, 1)).unwrap(),
        // linalg.json
        "matmul" => x[0].matmul(&x[1]),
        // nn.json
        "softmax" => x[0].softmax(dim("dim")),
        "log_softmax" => x[0].log_softmax(dim("dim")),
        "cross_entropy" => f::cross_entropy(
            &x[0],
            &indices(case, 1),
            case.attr_f64("label_smoothing"),
            reduction(case),
        )
        .unwrap(),
        "nll_loss" => f::nll_loss(&x[0], &indices(case, 1), reduction(case)).unwrap(),
        "mse_loss" => f::mse_loss(&x[0], &x[1], reduction(case)),
        "binary_cross_entropy_with_logits" => {
            f::binary_cross_entropy_with_logits(&x[0], &x[1], reduction(case))
        }
        "layer_norm" => f::layer_norm(
            &x[0],
            &usize_list(case, "normalized_shape"),
            Some(&x[1]),
            Some(&x[2]),
            case.attr_f64("eps"),
        ),
        "conv2d" => f::conv2d(
            &x[0],
            &x[1],
            Some(&x[2]),
            case.attr_i64("stride") as usize,
            case.attr_i64("padding") as usize,
        ),
        "max_pool2d" => f::max_pool2d(
            &x[0],
            case.attr_i64("kernel_size") as usize,
            case.attr_i64("stride") as usize,
        ),
        "avg_pool2d" => f::avg_pool2d(
            &x[0],
            case.attr_i64("kernel_size") as usize,
            case.attr_i64("stride") as usize,
        ),
        "embedding" => f::embedding(&x[0], &indices(case, 1)).unwrap(),
        // composite.json
        "mlp_cross_entropy" => {
            let hidden = (x[0].matmul(&x[1].transpose(0, 1)) + &x[2]).relu();
            let logits = hidden.matmul(&x[3].transpose(0, 1)) + &x[4];
            f::cross_entropy(&logits, &indices(case, 5), 0.0, Reduction::Mean).unwrap()
        }
        "attention" => {
            let scores = x[0].matmul(&x[1].transpose(-2, -1)) * case.attr_f64("scale");
            scores.softmax(-1).matmul(&x[2])
        }
        _ => return None,
    };
    Some(y)
}
