//! The redesign: one vector of nodes per graph, inputs by index (see `w5_node_floor.rs`).

use super::{is_hidden, w5, LEARNING_RATE};

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Relu,
}

/// An operand: a constant, a parameter (by index) or an earlier op (by tape index).
#[derive(Clone, Copy)]
enum Arg {
    Constant(f64),
    Parameter(u32),
    Node(u32),
}

struct Node {
    op: Op,
    inputs: [Arg; 2],
    value: f64,
}

pub struct Model {
    values: Vec<f64>,
    grads: Vec<f64>,
    /// Per layer, per neuron: the parameter indices of the weights and the bias.
    layers: Vec<Vec<(Vec<u32>, u32)>>,
    tape: Vec<Node>,
    node_grads: Vec<f64>,
}

impl Model {
    pub fn new() -> Model {
        let mut values = Vec::new();
        let mut layers = Vec::new();
        for l in 0..w5::SIZES.len() - 1 {
            let mut layer = Vec::new();
            for row in w5::initial_weights(l) {
                let mut weights = Vec::new();
                for w in row {
                    weights.push(values.len() as u32);
                    values.push(w);
                }
                let bias = values.len() as u32;
                values.push(0.0);
                layer.push((weights, bias));
            }
            layers.push(layer);
        }
        let grads = vec![0.0; values.len()];
        Model {
            values,
            grads,
            layers,
            tape: Vec::new(),
            node_grads: Vec::new(),
        }
    }

    fn get(&self, arg: Arg) -> f64 {
        match arg {
            Arg::Constant(x) => x,
            Arg::Parameter(i) => self.values[i as usize],
            Arg::Node(i) => self.tape[i as usize].value,
        }
    }

    fn record(&mut self, op: Op, a: Arg, b: Arg) -> Arg {
        let (x, y) = (self.get(a), self.get(b));
        let value = match op {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Relu => x.max(0.0),
        };
        if let (Arg::Constant(_), Arg::Constant(_)) = (a, b) {
            return Arg::Constant(value);
        }
        self.tape.push(Node {
            op,
            inputs: [a, b],
            value,
        });
        Arg::Node(self.tape.len() as u32 - 1)
    }

    /// W5's loss, built in the same order as ferrograd's `loss_per_point`.
    fn loss(&mut self, points: &[[f64; 2]], labels: &[f64]) -> Arg {
        let layers = std::mem::take(&mut self.layers);
        let mut losses: Option<Arg> = None;
        for (p, &y) in points.iter().zip(labels) {
            let mut x = vec![Arg::Constant(p[0]), Arg::Constant(p[1])];
            for (l, layer) in layers.iter().enumerate() {
                x = layer
                    .iter()
                    .map(|(weights, bias)| {
                        let mut act = Arg::Parameter(*bias);
                        for (&w, &xi) in weights.iter().zip(&x) {
                            let product = self.record(Op::Mul, Arg::Parameter(w), xi);
                            act = self.record(Op::Add, act, product);
                        }
                        if is_hidden(l) {
                            self.record(Op::Relu, act, Arg::Constant(0.0))
                        } else {
                            act
                        }
                    })
                    .collect();
            }
            let scaled = self.record(Op::Mul, x[0], Arg::Constant(y));
            let margin = self.record(Op::Sub, Arg::Constant(1.0), scaled);
            let margin = self.record(Op::Relu, margin, Arg::Constant(0.0));
            losses = Some(match losses {
                None => margin,
                Some(sum) => self.record(Op::Add, sum, margin),
            });
        }
        let mut squares: Option<Arg> = None;
        for (weights, bias) in layers.iter().flatten() {
            for &p in weights.iter().chain([bias]) {
                let square = self.record(Op::Mul, Arg::Parameter(p), Arg::Parameter(p));
                squares = Some(match squares {
                    None => square,
                    Some(sum) => self.record(Op::Add, sum, square),
                });
            }
        }
        self.layers = layers;
        let scale = Arg::Constant(1.0 / points.len() as f64);
        let mean = self.record(Op::Mul, losses.expect("points"), scale);
        let penalty = self.record(Op::Mul, squares.expect("parameters"), Arg::Constant(1e-4));
        self.record(Op::Add, mean, penalty)
    }

    /// Backpropagates from the last node: the tape in reverse is a valid order.
    fn backward(&mut self) {
        self.node_grads.clear();
        self.node_grads.resize(self.tape.len(), 0.0);
        *self.node_grads.last_mut().expect("a graph") = 1.0;
        for i in (0..self.tape.len()).rev() {
            let g = self.node_grads[i];
            let node = &self.tape[i];
            let [a, b] = node.inputs;
            let grads = match node.op {
                Op::Add => [g, g],
                Op::Sub => [g, -g],
                Op::Mul => [g * self.get(b), g * self.get(a)],
                Op::Relu => [if self.get(a) > 0.0 { g } else { 0.0 }, 0.0],
            };
            for (input, g) in [a, b].into_iter().zip(grads) {
                match input {
                    Arg::Constant(_) => {}
                    Arg::Parameter(p) => self.grads[p as usize] += g,
                    Arg::Node(j) => self.node_grads[j as usize] += g,
                }
            }
        }
    }

    /// One SGD step: zero the gradients, forward, backward, update, clear the tape.
    pub fn step(&mut self, points: &[[f64; 2]], labels: &[f64]) -> f64 {
        self.grads.fill(0.0);
        let loss = self.loss(points, labels);
        self.backward();
        for (p, g) in self.values.iter_mut().zip(&self.grads) {
            *p -= LEARNING_RATE * g;
        }
        let loss = self.get(loss);
        self.tape.clear();
        loss
    }

    /// The loss, the sum of ∂W0 and the node count (ops and parameters) at the initial
    /// parameters.
    pub fn check(&mut self, points: &[[f64; 2]], labels: &[f64]) -> (f64, f64, usize) {
        self.grads.fill(0.0);
        let loss = self.loss(points, labels);
        self.backward();
        let grad_w0 = self.layers[0]
            .iter()
            .flat_map(|(weights, _)| weights)
            .map(|&w| self.grads[w as usize])
            .sum();
        let result = (self.get(loss), grad_w0, self.tape.len() + self.values.len());
        self.tape.clear();
        result
    }
}
