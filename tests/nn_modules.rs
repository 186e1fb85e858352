//! Modules: PyTorch's parameter layouts and names, forward passes computed by hand, seeded
//! initialisation, train/eval mode, and the random generator behind them.

use ferrograd::nn::init::{fans, Init, RELU_GAIN};
use ferrograd::nn::{
    prefixed, Conv2d, Dropout, Embedding, Flatten, Forward, LayerNorm, Linear, MaxPool2d, Mlp,
    Module, Relu, Sequential,
};
use ferrograd::random::Rng;
use ferrograd::{Indices, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

type B = NdArray<f64>;
type T = Variable<B>;

fn names<M: Module<B>>(m: &M) -> Vec<String> {
    m.named_parameters().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn linear_is_x_times_w_transposed_plus_b() {
    // W = [[1, 2], [3, 4], [5, 6]] ([out 3, in 2]), b = [0.5, -1, 0]
    let layer = Linear::from_parameters(
        T::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap(),
        Some(T::from_vec(vec![0.5, -1.0, 0.0], &[3]).unwrap()),
    );
    let x = T::from_vec(vec![1.0, -1.0, 2.0, 0.5], &[2, 2]).unwrap();
    // row 0: [1−2, 3−4, 5−6] + b = [−0.5, −2, −1]; row 1: [2+1, 6+2, 10+3] + b = [3.5, 7, 13]
    assert_eq!(
        layer.forward(&x).to_vec(),
        [-0.5, -2.0, -1.0, 3.5, 7.0, 13.0]
    );
    assert_eq!(names(&layer), ["weight", "bias"]);
    let new = Linear::<B>::new(784, 256, true, &mut Rng::new(0));
    assert_eq!(
        (new.weight.shape(), new.bias.unwrap().shape()),
        (vec![256, 784], vec![256])
    );
}

#[test]
fn pytorch_parameter_layouts_and_names() {
    let mut rng = Rng::new(1);
    let conv = Conv2d::<B>::new(3, 8, 5, 1, 2, true, &mut rng);
    assert_eq!(conv.weight.shape(), [8, 3, 5, 5]);
    assert_eq!(names(&conv), ["weight", "bias"]);
    let norm = LayerNorm::<B>::new(&[4, 6]);
    assert_eq!(
        (norm.weight.shape(), norm.bias.shape()),
        (vec![4, 6], vec![4, 6])
    );
    assert_eq!((norm.weight.to_vec()[0], norm.bias.to_vec()[0]), (1.0, 0.0));
    let emb = Embedding::<B>::new(10, 3, &mut rng);
    assert_eq!(names(&emb), ["weight"]);
    assert_eq!(
        emb.forward(&Indices::new(vec![1, 9, 1, 0], &[2, 2]).unwrap())
            .unwrap()
            .shape(),
        [2, 2, 3]
    );

    let seq = Sequential::<B>::new()
        .add(Conv2d::new(1, 4, 3, 1, 1, true, &mut rng))
        .add(Relu)
        .add(MaxPool2d::new(2, 2))
        .add(Flatten::default())
        .add(Linear::new(4 * 14 * 14, 10, true, &mut rng));
    assert_eq!(names(&seq), ["0.weight", "0.bias", "4.weight", "4.bias"]);
    assert_eq!(seq.forward(&T::zeros(&[2, 1, 28, 28])).shape(), [2, 10]);

    // A model of named parts, as a user writes one: the parts' names become prefixes.
    struct Net {
        encoder: Sequential<B>,
        head: Linear<B>,
    }
    impl Module<B> for Net {
        fn named_parameters(&self) -> Vec<(String, T)> {
            let mut p = prefixed("encoder", &self.encoder);
            p.extend(prefixed("head", &self.head));
            p
        }
    }
    let net = Net {
        encoder: Sequential::new()
            .add(Linear::new(4, 8, true, &mut rng))
            .add(Relu),
        head: Linear::new(8, 2, false, &mut rng),
    };
    assert_eq!(
        names(&net),
        ["encoder.0.weight", "encoder.0.bias", "head.weight"]
    );
    assert_eq!(net.num_parameters(), 4 * 8 + 8 + 8 * 2);
}

#[test]
fn micrograd_mlp_names_and_sizes() {
    let mlp = Mlp::<Scalar<f64>>::new(2, &[16, 16, 1], &mut Rng::new(3));
    let named = mlp.named_parameters();
    assert_eq!(named.len(), 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
    assert_eq!(named[2].0, "layers.0.neurons.0.bias");
    assert_eq!(named.last().unwrap().0, "layers.2.neurons.0.bias");
    assert!(!mlp.layers[2].neurons[0].nonlinear && mlp.layers[1].neurons[0].nonlinear);
}

#[test]
fn seeded_initialisation_is_reproducible_and_backend_independent() {
    let a = Linear::<NdArray<f32>>::new(20, 30, true, &mut Rng::new(42));
    let b = Linear::<NdArray<f32>>::new(20, 30, true, &mut Rng::new(42));
    assert_eq!(a.weight.to_vec(), b.weight.to_vec());
    let c = Linear::<NdArray<f32>>::new(20, 30, true, &mut Rng::new(43));
    assert_ne!(a.weight.to_vec(), c.weight.to_vec());
    // f32 on both backends: the same bits.
    let scalar = Mlp::<Scalar<f32>>::new(3, &[5, 2], &mut Rng::new(9));
    let tensor = Mlp::<NdArray<f32>>::new(3, &[5, 2], &mut Rng::new(9));
    fn bits<Bk: ferrograd::Backend<Elem = f32>>(params: Vec<Variable<Bk>>) -> Vec<u32> {
        params
            .iter()
            .flat_map(|p| p.to_vec())
            .map(f32::to_bits)
            .collect()
    }
    assert_eq!(bits(scalar.parameters()), bits(tensor.parameters()));
}

#[test]
fn initialisers_follow_their_formulas() {
    let mut rng = Rng::new(5);
    let shape = [256, 128, 3, 3];
    assert_eq!(fans(&shape), (128 * 9, 256 * 9));
    // Kaiming uniform: U(−b, b) with b = gain·√(3 / fan_in).
    let bound = RELU_GAIN * (3.0f64 / (128.0 * 9.0)).sqrt();
    let v = Init::KaimingUniform(RELU_GAIN).sample(&shape, &mut rng);
    assert!(v.iter().all(|x| x.abs() <= bound));
    assert!(
        v.iter().any(|x| x.abs() > 0.99 * bound),
        "the range is used"
    );
    // Xavier normal: std = gain·√(2 / (fan_in + fan_out)); the sample std of 295k draws is
    // within 1 % of it.
    let v = Init::XavierNormal(1.0).sample(&shape, &mut rng);
    let std = (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let expected = (2.0f64 / (128.0 * 9.0 + 256.0 * 9.0)).sqrt();
    assert!((std / expected - 1.0).abs() < 0.01, "{std} vs {expected}");
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean.abs() < 0.01 * expected);
}

#[test]
fn dropout_in_training_and_evaluation() {
    let mut drop = Dropout::new(0.25, 11);
    let x = T::ones(&[100, 100]);
    let y = Forward::<B>::forward(&drop, &x).to_vec();
    let zeros = y.iter().filter(|&&v| v == 0.0).count();
    // Each element is dropped with probability 1/4: 2,500 expected of 10,000, standard
    // deviation about 43.
    assert!((2300..2700).contains(&zeros), "{zeros} zeros");
    assert!(y.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
    Module::<B>::eval(&mut drop);
    assert_eq!(Forward::<B>::forward(&drop, &x).to_vec(), x.to_vec());

    let mut seq = Sequential::<B>::new().add(Dropout::new(0.5, 1));
    assert!(seq.is_training());
    seq.eval();
    assert!(!seq.is_training());
    assert_eq!(seq.forward(&x).to_vec(), x.to_vec());
}

#[test]
fn zero_grad_clears_every_parameter() {
    let model = Sequential::<B>::new()
        .add(Linear::new(3, 4, true, &mut Rng::new(0)))
        .add(Relu);
    let x = T::ones(&[2, 3]);
    model.forward(&x).sum().backward();
    assert!(model.parameters().iter().all(|p| p.grad().is_some()));
    model.zero_grad();
    assert!(model.parameters().iter().all(|p| p.grad().is_none()));
}

#[test]
fn the_generator_is_splitmix64() {
    // SplitMix64 from state 0 (Steele, Lea and Flood; the published reference outputs).
    let mut rng = Rng::new(0);
    assert_eq!(rng.next_u64(), 0xe220a8397b1dcdaf);
    assert_eq!(rng.next_u64(), 0x6e789e6aa1b965f4);
    assert_eq!(rng.next_u64(), 0x06c45d188009454f);
    let mut rng = Rng::new(9);
    let mut seen = [0usize; 6];
    for _ in 0..60_000 {
        seen[rng.below(6) as usize] += 1;
    }
    assert!(
        seen.iter().all(|&c| (9_500..10_500).contains(&c)),
        "{seen:?}"
    );
    let mut items: Vec<u32> = (0..50).collect();
    rng.shuffle(&mut items);
    let mut sorted = items.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    assert_ne!(items, sorted);
}
