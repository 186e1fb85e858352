//! The operator matrix: `+ - * /` between variables, references and plain numbers, on
//! either side, and unary `-`.
//!
//! One macro stamps out, for each operator, the impls for every pairing of `Variable<B>`,
//! `&Variable<B>` and `f64`, all forwarding to the op (`add`, `sub`, ...), which holds its
//! derivative. Operands taken by value are moved into the graph rather than cloned (see
//! `ops::Operand`). Plain numbers become rank-0 constants and broadcast.
//!
//! Plain numbers are `f64` whatever the backend's element type (as Python floats are in
//! PyTorch), so that `2.0 * &x` and `(1.0 - &x).square()` compile in generic code and on
//! `f32` backends alike. Accepting `f32` as well would make every unsuffixed literal
//! ambiguous wherever a method is called on the result; an `f32` number converts with
//! `f64::from(x)`.

use crate::backend::Backend;
use crate::variable::Variable;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

impl<B: Backend> Variable<B> {
    fn number(x: f64) -> Self {
        Self::scalar(Self::elem(x))
    }
}

macro_rules! operator {
    ($Trait:ident, $method:ident, $operands:ident, $Assign:ident, $assign:ident) => {
        impl<B: Backend> $Trait<Variable<B>> for Variable<B> {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: Variable<B>) -> Variable<B> {
                Variable::$operands(self, rhs)
            }
        }
        impl<B: Backend> $Trait<&Variable<B>> for Variable<B> {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: &Variable<B>) -> Variable<B> {
                Variable::$operands(self, rhs)
            }
        }
        impl<B: Backend> $Trait<Variable<B>> for &Variable<B> {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: Variable<B>) -> Variable<B> {
                Variable::$operands(self, rhs)
            }
        }
        impl<B: Backend> $Trait<&Variable<B>> for &Variable<B> {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: &Variable<B>) -> Variable<B> {
                Variable::$operands(self, rhs)
            }
        }
        impl<B: Backend> $Assign<Variable<B>> for Variable<B> {
            #[track_caller]
            fn $assign(&mut self, rhs: Variable<B>) {
                *self = Variable::$operands(&*self, rhs);
            }
        }
        impl<B: Backend> $Assign<&Variable<B>> for Variable<B> {
            #[track_caller]
            fn $assign(&mut self, rhs: &Variable<B>) {
                *self = Variable::$operands(&*self, rhs);
            }
        }
        operator!(@number $Trait, $method, $operands, $Assign, $assign, f64);
    };
    (@number $Trait:ident, $method:ident, $operands:ident, $Assign:ident, $assign:ident, $num:ty) => {
        impl<B: Backend> $Trait<$num> for Variable<B> {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: $num) -> Variable<B> {
                Variable::$operands(self, Variable::number(rhs))
            }
        }
        impl<B: Backend> $Trait<$num> for &Variable<B> {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: $num) -> Variable<B> {
                Variable::$operands(self, Variable::number(rhs))
            }
        }
        impl<B: Backend> $Trait<Variable<B>> for $num {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: Variable<B>) -> Variable<B> {
                Variable::$operands(Variable::number(self), rhs)
            }
        }
        impl<B: Backend> $Trait<&Variable<B>> for $num {
            type Output = Variable<B>;
            #[track_caller]
            fn $method(self, rhs: &Variable<B>) -> Variable<B> {
                Variable::$operands(Variable::number(self), rhs)
            }
        }
        impl<B: Backend> $Assign<$num> for Variable<B> {
            #[track_caller]
            fn $assign(&mut self, rhs: $num) {
                *self = Variable::$operands(&*self, Variable::number(rhs));
            }
        }
    };
}

operator!(Add, add, add_operands, AddAssign, add_assign);
operator!(Sub, sub, sub_operands, SubAssign, sub_assign);
operator!(Mul, mul, mul_operands, MulAssign, mul_assign);
operator!(Div, div, div_operands, DivAssign, div_assign);

impl<B: Backend> Neg for Variable<B> {
    type Output = Variable<B>;
    fn neg(self) -> Variable<B> {
        Variable::neg(&self)
    }
}

impl<B: Backend> Neg for &Variable<B> {
    type Output = Variable<B>;
    fn neg(self) -> Variable<B> {
        Variable::neg(self)
    }
}

/// Sums variables with `+` (broadcasting); an empty iterator gives a rank-0 zero.
impl<B: Backend> Sum for Variable<B> {
    fn sum<I: Iterator<Item = Variable<B>>>(mut iter: I) -> Self {
        match iter.next() {
            None => Variable::number(0.0),
            Some(first) => iter.fold(first, |acc, x| acc + x),
        }
    }
}

impl<'a, B: Backend> Sum<&'a Variable<B>> for Variable<B> {
    fn sum<I: Iterator<Item = &'a Variable<B>>>(iter: I) -> Self {
        iter.cloned().sum()
    }
}
