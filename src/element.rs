//! The element types a backend can hold: `f32` and `f64`.

use num_traits::Float;
use std::fmt::{Debug, Display};

/// The data type of a tensor's elements, as stored in checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE 754 float.
    F32,
    /// 64-bit IEEE 754 float.
    F64,
}

impl Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        })
    }
}

/// A floating-point element type: `f32` or `f64`.
///
/// It adds to num-traits' [`Float`] what an autodiff engine needs and `Float` lacks: an
/// infallible conversion from `f64` (op attributes such as a slope or an exponent are given
/// as `f64`, as in PyTorch), the error function (for the exact GELU) and the dtype tag.
pub trait Element: Float + Default + Debug + Display + Send + Sync + 'static {
    /// The dtype tag of this type.
    const DTYPE: DType;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;

    /// The error function, `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`, accurate to a few ulps.
    fn erf(self) -> Self;

    /// The values as little-endian bytes (how checkpoints store them).
    fn to_le_bytes(values: &[Self]) -> Vec<u8>;

    /// Values from little-endian bytes; `None` if the length is not a whole number of
    /// values.
    fn from_le_bytes(bytes: &[u8]) -> Option<Vec<Self>>;

    /// The bits of the value, widened to 64 (how [`AtomicCell`](crate::backend::AtomicCell)
    /// stores a number).
    fn to_bits64(self) -> u64;

    /// The value whose bits [`to_bits64`](Element::to_bits64) returned.
    fn from_bits64(bits: u64) -> Self;
}

impl Element for f32 {
    fn to_bits64(self) -> u64 {
        u64::from(self.to_bits())
    }

    fn from_bits64(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }

    const DTYPE: DType = DType::F32;

    fn from_f64(x: f64) -> Self {
        x as f32
    }

    fn as_f64(self) -> f64 {
        self as f64
    }

    fn erf(self) -> Self {
        libm::erff(self)
    }

    fn to_le_bytes(values: &[Self]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn from_le_bytes(bytes: &[u8]) -> Option<Vec<Self>> {
        bytes.len().is_multiple_of(4).then(|| {
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect()
        })
    }
}

impl Element for f64 {
    fn to_bits64(self) -> u64 {
        self.to_bits()
    }

    fn from_bits64(bits: u64) -> Self {
        f64::from_bits(bits)
    }

    const DTYPE: DType = DType::F64;

    fn from_f64(x: f64) -> Self {
        x
    }

    fn as_f64(self) -> f64 {
        self
    }

    fn erf(self) -> Self {
        libm::erf(self)
    }

    fn to_le_bytes(values: &[Self]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn from_le_bytes(bytes: &[u8]) -> Option<Vec<Self>> {
        bytes.len().is_multiple_of(8).then(|| {
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        })
    }
}
