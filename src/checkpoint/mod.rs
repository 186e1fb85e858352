//! Checkpoints: a module's parameters saved as safetensors and loaded back.
//!
//! The file is standard safetensors (readable by PyTorch's `safetensors.torch.load_file`
//! and every other reader), one tensor per parameter under its dotted name
//! (`layers.0.weight`), in the model's dtype. Writing is atomic: the bytes go to a
//! temporary file in the same directory, which is flushed to disk and then renamed over
//! the target, so a crash never leaves a truncated checkpoint where the old one was.
//! Loading checks every name, shape and dtype first and reports every problem at once;
//! the model is changed only if there is none.
//!
//! An optimizer's state is saved and loaded the same way, in a file of its own
//! ([`save_optimizer`], [`load_optimizer`]): the model and the optimizer's files together
//! resume training exactly.
//!
//! ```
//! use ferrograd::checkpoint;
//! use ferrograd::nn::{Linear, Module};
//! use ferrograd::random::Rng;
//! use ferrograd_ndarray::NdArray;
//!
//! let dir = std::env::temp_dir().join(format!("ferrograd-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("linear.safetensors");
//!
//! let trained = Linear::<NdArray<f32>>::new(4, 2, true, &mut Rng::new(1));
//! checkpoint::save(&trained, &path).unwrap();
//!
//! let fresh = Linear::<NdArray<f32>>::new(4, 2, true, &mut Rng::new(2));
//! checkpoint::load(&fresh, &path).unwrap();
//! assert_eq!(fresh.weight.to_vec(), trained.weight.to_vec());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod optimizer;

pub use optimizer::{load_optimizer, save_optimizer};

use crate::backend::Backend;
use crate::element::{DType, Element};
use crate::nn::Module;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What went wrong saving or loading a checkpoint.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid safetensors (truncated, corrupt, not a checkpoint).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser found.
        reason: String,
    },
    /// The file is valid but does not fit the model (or the optimizer); every problem is
    /// listed.
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Each problem found.
        problems: Vec<Problem>,
    },
}

/// One way a checkpoint does not fit a model (or an optimizer's state an optimizer).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The model has a parameter the file lacks (or the optimizer a buffer or step count).
    Missing(String),
    /// The file has a tensor the model lacks (or a buffer or step count the optimizer does
    /// not keep).
    Unexpected(String),
    /// Shapes differ.
    Shape {
        /// The parameter.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// Dtypes differ.
    Dtype {
        /// The parameter.
        name: String,
        /// The model's dtype.
        expected: String,
        /// The file's dtype.
        found: String,
    },
    /// The state was written by another kind of optimizer.
    Optimizer {
        /// The optimizer loading it.
        expected: String,
        /// The optimizer that wrote it.
        found: String,
    },
    /// The state is for a different number of parameters.
    ParameterCount {
        /// The optimizer's parameters.
        expected: usize,
        /// The state's.
        found: usize,
    },
    /// A stored setting has a value the optimizer cannot take.
    Value {
        /// The setting.
        name: String,
        /// Its stored value.
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A tensor, or a header entry such as an optimizer's step count.
            Problem::Missing(name) => write!(f, "missing {name:?}"),
            Problem::Unexpected(name) => write!(f, "unexpected {name:?}"),
            Problem::Shape {
                name,
                expected,
                found,
            } => {
                write!(f, "{name:?} has shape {found:?}, expected {expected:?}")
            }
            Problem::Dtype {
                name,
                expected,
                found,
            } => {
                write!(f, "{name:?} has dtype {found}, expected {expected}")
            }
            Problem::Optimizer { expected, found } => {
                write!(f, "the state is {found}'s, not {expected}'s")
            }
            Problem::ParameterCount { expected, found } => {
                write!(
                    f,
                    "the state is for {found} parameters, the optimizer has {expected}"
                )
            }
            Problem::Value { name, found } => write!(f, "{name:?} has the invalid value {found}"),
        }
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CheckpointError::Corrupt { path, reason } => {
                write!(
                    f,
                    "{}: not a valid safetensors file: {reason}",
                    path.display()
                )
            }
            CheckpointError::Mismatch { path, problems } => {
                write!(f, "{}: the checkpoint does not fit:", path.display())?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A module's parameter values by name: what [`save`] writes.
#[derive(Clone, Debug, PartialEq)]
pub struct StateDict<T> {
    /// `(name, shape, row-major values)`, in the module's parameter order.
    pub entries: Vec<(String, Vec<usize>, Vec<T>)>,
}

/// The current values of a module's parameters.
pub fn state_dict<B: Backend, M: Module<B> + ?Sized>(module: &M) -> StateDict<B::Elem> {
    StateDict {
        entries: module
            .named_parameters()
            .into_iter()
            .map(|(name, p)| (name, p.shape(), p.to_vec()))
            .collect(),
    }
}

fn safetensors_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

/// Saves a module's parameters to `path` as safetensors, atomically (see the
/// [module documentation](self) for an example with [`load`]).
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written (the previous file, if any, is
/// left as it was).
pub fn save<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    save_with_metadata(module, path, &[])
}

/// [`save`], with extra string metadata stored in the file's header (an epoch number, a
/// description); [`metadata`] and [`load_with_metadata`] read it back.
///
/// # Errors
/// As [`save`].
pub fn save_with_metadata<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
    extra: &[(&str, &str)],
) -> Result<(), CheckpointError> {
    let mut metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    metadata.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    write_tensors(path.as_ref(), state_dict(module).entries, metadata)
}

/// Serializes `(name, shape, values)` tensors and string metadata as safetensors and
/// writes them atomically.
fn write_tensors<T: Element>(
    path: &Path,
    entries: Vec<(String, Vec<usize>, Vec<T>)>,
    metadata: HashMap<String, String>,
) -> Result<(), CheckpointError> {
    let dtype = safetensors_dtype(T::DTYPE);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = entries
        .into_iter()
        .map(|(name, shape, values)| (name, shape, T::to_le_bytes(&values)))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(name, shape, data)| {
            let view = TensorView::new(dtype, shape.clone(), data).expect("sizes agree");
            (name.clone(), view)
        })
        .collect();
    let serialized =
        safetensors::serialize(views, Some(metadata)).map_err(|e| CheckpointError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    write_atomically(path, &serialized)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, and renames it
/// over `path`: readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    let temporary = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        // Make the rename itself durable (best effort: not every platform can open a
        // directory).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(io)
}

/// The string metadata of a checkpoint's header (what [`save_with_metadata`] stored, and
/// `format`).
///
/// # Errors
/// [`CheckpointError::Io`] or [`CheckpointError::Corrupt`].
pub fn metadata(path: impl AsRef<Path>) -> Result<HashMap<String, String>, CheckpointError> {
    read_header(path.as_ref()).map(|(_, metadata)| metadata)
}

/// The bytes of a safetensors file and its header's string metadata.
fn read_header(path: &Path) -> Result<(Vec<u8>, HashMap<String, String>), CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let metadata = header.metadata().clone().unwrap_or_default();
    Ok((bytes, metadata))
}

/// Loads parameters saved by [`save`] (or any safetensors file with the same names,
/// shapes and dtype) into `module`.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be read, [`CheckpointError::Corrupt`] if it
/// is not valid safetensors, [`CheckpointError::Mismatch`] listing every missing,
/// unexpected, wrongly shaped or wrongly typed tensor. On any error the module is left
/// untouched.
pub fn load<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    load_with_metadata(module, path).map(drop)
}

/// [`load`], also returning the header's string metadata (what [`save_with_metadata`]
/// stored, and `format`), read from the same file: what resuming training needs.
///
/// # Errors
/// As [`load`]; on any error the module is left untouched.
pub fn load_with_metadata<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
) -> Result<HashMap<String, String>, CheckpointError> {
    let path = path.as_ref();
    let (entries, problems, metadata) = read_tensors::<B::Elem>(path)?;
    apply(module, StateDict { entries }, problems).map_err(|problems| {
        CheckpointError::Mismatch {
            path: path.to_path_buf(),
            problems,
        }
    })?;
    Ok(metadata)
}

/// The tensors of a safetensors file in the element type `T`, a [`Problem::Dtype`] for
/// each tensor of another dtype, and the header's string metadata.
type Contents<T> = (
    Vec<(String, Vec<usize>, Vec<T>)>,
    Vec<Problem>,
    HashMap<String, String>,
);

fn read_tensors<T: Element>(path: &Path) -> Result<Contents<T>, CheckpointError> {
    let (bytes, metadata) = read_header(path)?;
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let file = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let expected_dtype = safetensors_dtype(T::DTYPE);
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for (name, view) in file.tensors() {
        if view.dtype() != expected_dtype {
            problems.push(Problem::Dtype {
                name,
                expected: T::DTYPE.to_string(),
                found: format!("{:?}", view.dtype()).to_lowercase(),
            });
            continue;
        }
        let data = T::from_le_bytes(view.data())
            .ok_or_else(|| corrupt(format!("tensor {name:?} has a partial element")))?;
        entries.push((name, view.shape().to_vec(), data));
    }
    Ok((entries, problems, metadata))
}

/// Sets a module's parameters from a state dict, after checking that names and shapes
/// match exactly; otherwise returns every problem and leaves the module untouched.
///
/// # Errors
/// The list of missing, unexpected and wrongly shaped tensors.
pub fn load_state_dict<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    state: StateDict<B::Elem>,
) -> Result<(), Vec<Problem>> {
    apply(module, state, Vec::new())
}

/// Checks `state` against the module (adding to `problems` found earlier), then, if there
/// are none at all, sets every parameter.
fn apply<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    state: StateDict<B::Elem>,
    mut problems: Vec<Problem>,
) -> Result<(), Vec<Problem>> {
    let params = module.named_parameters();
    let mut stored: BTreeMap<String, (Vec<usize>, Vec<B::Elem>)> = state
        .entries
        .into_iter()
        .map(|(name, shape, data)| (name, (shape, data)))
        .collect();
    let mut updates = Vec::new();
    for (name, p) in &params {
        let shape = p.shape();
        match stored.remove(name) {
            None if problems
                .iter()
                .any(|q| matches!(q, Problem::Dtype { name: n, .. } if n == name)) => {}
            None => problems.push(Problem::Missing(name.clone())),
            Some((found, _)) if found != shape => problems.push(Problem::Shape {
                name: name.clone(),
                expected: shape,
                found,
            }),
            Some((_, data)) if data.len() != shape.iter().product::<usize>() => {
                problems.push(Problem::Shape {
                    name: name.clone(),
                    expected: shape,
                    found: vec![data.len()],
                })
            }
            Some((_, data)) => match B::from_vec(data, &shape) {
                Ok(value) => updates.push((p.clone(), value)),
                Err(_) => problems.push(Problem::Shape {
                    name: name.clone(),
                    expected: shape.clone(),
                    found: shape,
                }),
            },
        }
    }
    problems.extend(stored.into_keys().map(Problem::Unexpected));
    if !problems.is_empty() {
        return Err(problems);
    }
    for (p, value) in updates {
        p.set_value(value);
    }
    Ok(())
}
