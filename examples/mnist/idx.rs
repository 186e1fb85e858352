//! A reader for the IDX files MNIST ships in (plain or gzip-compressed).
//!
//! An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
//! dimensions), each dimension as a big-endian `u32`, then the data row-major. MNIST uses
//! type `0x08`, unsigned bytes. Everything about a malformed file is reported with the
//! file's name and what is wrong.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The contents of an IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Why an IDX file could not be read.
#[derive(Debug)]
pub enum IdxError {
    /// The file could not be opened or read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a well-formed IDX file of bytes.
    Malformed { path: PathBuf, reason: String },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            IdxError::Malformed { path, reason } => {
                write!(f, "{}: not a valid IDX file: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for IdxError {}

/// Reads an IDX file, decompressing it first if it is gzip (detected by its first bytes,
/// whatever the name).
pub fn read(path: &Path) -> Result<Idx, IdxError> {
    let io = |source| IdxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| IdxError::Malformed {
                path: path.to_path_buf(),
                reason: format!("gzip data is damaged ({e})"),
            })?;
        out
    } else {
        raw
    };
    parse(&bytes).map_err(|reason| IdxError::Malformed {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses the bytes of an (uncompressed) IDX file.
pub fn parse(bytes: &[u8]) -> Result<Idx, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "{} bytes, too short for the 4-byte header",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "bad magic number {:02x} {:02x} (expected 00 00)",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "element type 0x{:02x}; only unsigned bytes (0x08) are supported",
            bytes[2]
        ));
    }
    let rank = bytes[3] as usize;
    if rank == 0 {
        return Err("zero dimensions".to_string());
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(format!(
            "the header of {rank} dimensions needs {header} bytes, the file has {}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("dimensions overflow")?;
    let found = bytes.len() - header;
    if found != expected {
        return Err(format!(
            "dimensions {dims:?} need {expected} bytes of data, the file has {found}{}",
            if found < expected {
                " (truncated)"
            } else {
                " (trailing bytes)"
            }
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Images and labels read from a pair of IDX files, checked against each other.
pub struct Labelled {
    /// `[n, rows, cols]`.
    pub images: Idx,
    /// `n` labels in `0..10`.
    pub labels: Vec<usize>,
}

/// Reads MNIST-style images (`[n, rows, cols]`) and labels (`[n]`, digits 0 to 9).
pub fn read_labelled(images: &Path, labels: &Path) -> Result<Labelled, IdxError> {
    let img = read(images)?;
    let lab = read(labels)?;
    let malformed = |path: &Path, reason: String| IdxError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    if img.dims.len() != 3 {
        return Err(malformed(
            images,
            format!(
                "images must have 3 dimensions [n, rows, cols], found {:?}",
                img.dims
            ),
        ));
    }
    if lab.dims.len() != 1 {
        return Err(malformed(
            labels,
            format!("labels must have 1 dimension [n], found {:?}", lab.dims),
        ));
    }
    if lab.dims[0] != img.dims[0] {
        return Err(malformed(
            labels,
            format!(
                "{} labels for {} images in {}",
                lab.dims[0],
                img.dims[0],
                images.display()
            ),
        ));
    }
    if let Some(bad) = lab.data.iter().position(|&l| l > 9) {
        return Err(malformed(
            labels,
            format!("label {} at position {bad} is not a digit", lab.data[bad]),
        ));
    }
    Ok(Labelled {
        images: img,
        labels: lab.data.iter().map(|&l| l as usize).collect(),
    })
}
