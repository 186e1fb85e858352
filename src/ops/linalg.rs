//! `matmul` (tensor backends), with PyTorch's rules for vectors and batch broadcasting.

use crate::backend::TensorOps;
use crate::shape::broadcast_shapes;
use crate::variable::Variable;

impl<B: TensorOps> Variable<B> {
    /// The matrix product, as `torch.matmul`: `[..., m, k] · [..., k, n] → [..., m, n]` with
    /// batch dimensions broadcast; a 1-D first operand is a row vector and a 1-D second
    /// operand a column vector, whose dimension is removed from the result.
    ///
    /// # Panics
    /// If an operand has rank 0, the inner dimensions differ, or batch dimensions do not
    /// broadcast.
    #[track_caller]
    pub fn matmul(&self, rhs: &Self) -> Self {
        let (ra, rb) = (self.rank(), rhs.rank());
        if ra == 0 || rb == 0 {
            panic!(
                "matmul: operands must have rank ≥ 1, got shapes {:?} and {:?}",
                self.shape(),
                rhs.shape()
            );
        }
        match (ra, rb) {
            (1, 1) => self
                .unsqueeze(0)
                .matmul_nd(&rhs.unsqueeze(1))
                .reshape(&[0usize; 0]),
            (1, _) => self.unsqueeze(0).matmul_nd(rhs).squeeze(-2),
            (_, 1) => self.matmul_nd(&rhs.unsqueeze(1)).squeeze(-1),
            _ => self.matmul_nd(rhs),
        }
    }

    /// Both operands of rank ≥ 2.
    #[track_caller]
    fn matmul_nd(&self, rhs: &Self) -> Self {
        let (a, b) = (self.value_ref(), rhs.value_ref());
        let (sa, sb) = (B::shape(&a), B::shape(&b));
        let (k1, k2) = (sa[sa.len() - 1], sb[sb.len() - 2]);
        let batch = broadcast_shapes(&sa[..sa.len() - 2], &sb[..sb.len() - 2]);
        if k1 != k2 || batch.is_none() {
            panic!("matmul: shapes {sa:?} and {sb:?} do not multiply");
        }
        let value = B::matmul(&a, &b);
        Self::binary_op(
            self,
            rhs,
            "matmul",
            value,
            // ∂/∂A of sum(G ⊙ AB) = G·Bᵀ, ∂/∂B = Aᵀ·G; the engine sums broadcast batch
            // dimensions away. For an operand stored column-major (a transposed weight)
            // the same product is computed transposed, (B·Gᵀ)ᵀ or (Gᵀ·A)ᵀ, so that its
            // gradient comes out in its own layout and needs no copy downstream.
            |a, b, _, g| {
                if B::is_column_major(&a.value_ref()) {
                    b.matmul_nd(&g.transpose(-1, -2)).transpose(-1, -2)
                } else {
                    g.matmul_nd(&b.transpose(-1, -2))
                }
            },
            |a, b, _, g| {
                if B::is_column_major(&b.value_ref()) {
                    g.transpose(-1, -2).matmul_nd(a).transpose(-1, -2)
                } else {
                    a.transpose(-1, -2).matmul_nd(g)
                }
            },
        )
    }
}
