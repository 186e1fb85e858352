//! An optimizer's state saved as safetensors and loaded back.
//!
//! The file holds one tensor per buffer, named `state.{i}.{buffer}` after the parameter's
//! position `i` in the optimizer and PyTorch's buffer name (`state.0.exp_avg`), and in its
//! header the optimizer's kind, the learning rate, the number of parameters and each
//! parameter's step count (`state.0.step`), as exact decimal strings.

use super::{read_tensors, write_tensors, CheckpointError, Problem};
use crate::backend::Backend;
use crate::element::Element;
use crate::optim::{Optimizer, OptimizerState, ParamState};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The `format` entry of an optimizer state's header.
const FORMAT: &str = "ferrograd-optimizer/1";

/// Saves an optimizer's state ([`Optimizer::state_dict`]) to `path` as safetensors,
/// atomically, like [`save`](super::save). Save the model beside it: the two together are
/// what resuming training needs.
///
/// ```
/// use ferrograd::checkpoint;
/// use ferrograd::optim::{Adam, Optimizer};
/// use ferrograd::Variable;
/// use ferrograd_ndarray::NdArray;
///
/// let dir = std::env::temp_dir().join(format!("ferrograd-doc-opt-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("adam.safetensors");
///
/// let w = Variable::<NdArray<f32>>::from_vec(vec![1.0, -2.0], &[2]).unwrap().requires_grad();
/// let mut opt = Adam::new(vec![w.clone()], 1e-2);
/// w.square().sum().backward();
/// opt.step();
/// checkpoint::save_optimizer(&opt, &path).unwrap();
///
/// let mut resumed = Adam::new(vec![w.clone()], 1e-2);
/// checkpoint::load_optimizer(&mut resumed, &path).unwrap();
/// assert_eq!(resumed.state_dict(), opt.state_dict());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written (the previous file, if any, is
/// left as it was).
pub fn save_optimizer<B: Backend, O: Optimizer<B> + ?Sized>(
    optimizer: &O,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    let state = optimizer.state_dict();
    let mut metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("optimizer".to_string(), state.kind),
        // Display of an f64 is the shortest string that parses back to the same bits.
        ("learning_rate".to_string(), state.learning_rate.to_string()),
        ("parameters".to_string(), state.params.len().to_string()),
    ]);
    let mut entries = Vec::new();
    for (i, param) in state.params.into_iter().enumerate() {
        let Some(param) = param else { continue };
        if let Some(step) = param.step {
            metadata.insert(format!("state.{i}.step"), step.to_string());
        }
        for (name, (shape, values)) in param.buffers {
            entries.push((format!("state.{i}.{name}"), shape, values));
        }
    }
    write_tensors(path.as_ref(), entries, metadata)
}

/// Loads an optimizer's state saved by [`save_optimizer`] into `optimizer`
/// ([`Optimizer::load_state_dict`]): the next step continues exactly where the saved
/// optimizer would have.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be read, [`CheckpointError::Corrupt`] if it
/// is not valid safetensors or not an optimizer's state, [`CheckpointError::Mismatch`]
/// listing every problem (another optimizer's state, a different number of parameters, a
/// buffer missing, unexpected, of the wrong shape or dtype). On any error the optimizer is
/// left untouched.
pub fn load_optimizer<B: Backend, O: Optimizer<B> + ?Sized>(
    optimizer: &mut O,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let (entries, mut problems, metadata) = read_tensors::<B::Elem>(path)?;
    let expected = optimizer.parameters().len();
    let state = parse(entries, &metadata, expected, &mut problems).map_err(|reason| {
        CheckpointError::Corrupt {
            path: path.to_path_buf(),
            reason,
        }
    })?;
    let mismatch = |problems| CheckpointError::Mismatch {
        path: path.to_path_buf(),
        problems,
    };
    match state {
        Some(state) if problems.is_empty() => optimizer.load_state_dict(state).map_err(mismatch),
        _ => Err(mismatch(problems)),
    }
}

/// Rebuilds the state from the file's tensors and header, for an optimizer of `expected`
/// parameters. A header that is not an optimizer state's is an error (returned as its
/// reason). A state for another number of parameters is `None`, with the problem added to
/// `problems`, as are tensors whose names are not `state.{i}.{buffer}` with `i` in range.
fn parse<T: Element>(
    entries: Vec<(String, Vec<usize>, Vec<T>)>,
    metadata: &HashMap<String, String>,
    expected: usize,
    problems: &mut Vec<Problem>,
) -> Result<Option<OptimizerState<T>>, String> {
    let entry = |key: &str| {
        metadata
            .get(key)
            .ok_or_else(|| format!("not an optimizer state: the header has no {key:?}"))
    };
    let number = |key: &str, value: &String| {
        value
            .parse::<u64>()
            .map_err(|_| format!("{key:?} is {value:?}, not a count"))
    };
    if entry("format")? != FORMAT {
        return Err(format!(
            "not an optimizer state: the format is {:?}, not {FORMAT:?}",
            metadata["format"]
        ));
    }
    let kind = entry("optimizer")?.clone();
    let learning_rate = entry("learning_rate")?;
    let learning_rate = learning_rate
        .parse::<f64>()
        .map_err(|_| format!("\"learning_rate\" is {learning_rate:?}, not a number"))?;
    let count = number("parameters", entry("parameters")?)?;
    if count != expected as u64 {
        problems.push(Problem::ParameterCount {
            expected,
            found: usize::try_from(count).unwrap_or(usize::MAX),
        });
        return Ok(None);
    }
    let count = expected;
    let mut params: Vec<Option<ParamState<T>>> = vec![None; count];
    // In key order, so that problems are listed the same way every time.
    let sorted: BTreeMap<&String, &String> = metadata.iter().collect();
    for (key, value) in sorted {
        if let Some(i) = key
            .strip_prefix("state.")
            .and_then(|k| k.strip_suffix(".step"))
        {
            match i.parse::<usize>() {
                Ok(i) if i < count => {
                    param_mut(&mut params, i).step = Some(number(key, value)?);
                }
                _ => problems.push(Problem::Unexpected(key.clone())),
            }
        }
    }
    for (name, shape, values) in entries {
        let index_and_buffer = name
            .strip_prefix("state.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(i, buffer)| Some((i.parse::<usize>().ok()?, buffer)));
        match index_and_buffer {
            Some((i, buffer)) if i < count && !buffer.is_empty() => {
                let buffer = buffer.to_string();
                param_mut(&mut params, i)
                    .buffers
                    .insert(buffer, (shape, values));
            }
            _ => problems.push(Problem::Unexpected(name)),
        }
    }
    Ok(Some(OptimizerState {
        kind,
        learning_rate,
        params,
    }))
}

/// Parameter `i`'s state, created empty on first mention.
fn param_mut<T>(params: &mut [Option<ParamState<T>>], i: usize) -> &mut ParamState<T> {
    params[i].get_or_insert_with(|| ParamState {
        step: None,
        buffers: Default::default(),
    })
}
