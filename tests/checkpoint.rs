//! Checkpoints: bitwise round trips in f32 and f64, the standard safetensors layout,
//! atomic writes, and a clear error naming every problem, with the model untouched.

use ferrograd::checkpoint::{self, CheckpointError, Problem};
use ferrograd::nn::{Conv2d, Flatten, LayerNorm, Linear, Mlp, Module, Relu, Sequential};
use ferrograd::random::Rng;
use ferrograd::{Backend, TensorOps, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

#[path = "common/scratch.rs"]
mod scratch;

use scratch::scratch;

fn model<B: TensorOps>(seed: u64) -> Sequential<B> {
    let mut rng = Rng::new(seed);
    Sequential::new()
        .add(Conv2d::new(1, 2, 3, 1, 1, true, &mut rng))
        .add(Relu)
        .add(Flatten::default())
        .add(LayerNorm::new(&[2 * 4 * 4]))
        .add(Linear::new(2 * 4 * 4, 3, true, &mut rng))
}

fn snapshot<B: Backend, M: Module<B>>(m: &M) -> Vec<(String, Vec<usize>, Vec<u64>)>
where
    B::Elem: Into<f64>,
{
    m.named_parameters()
        .into_iter()
        .map(|(n, p)| {
            (
                n,
                p.shape(),
                p.to_vec().into_iter().map(|v| v.into().to_bits()).collect(),
            )
        })
        .collect()
}

fn round_trip<B: TensorOps>(name: &str)
where
    B::Elem: Into<f64>,
{
    let dir = scratch(name);
    let path = dir.join("model.safetensors");
    let trained = model::<B>(1);
    checkpoint::save(&trained, &path).unwrap();
    let fresh = model::<B>(2);
    assert_ne!(snapshot(&fresh), snapshot(&trained));
    checkpoint::load(&fresh, &path).unwrap();
    assert_eq!(
        snapshot(&fresh),
        snapshot(&trained),
        "bitwise equal after loading"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["model.safetensors"],
        "no temporary file is left behind"
    );
}

#[test]
fn round_trip_f32_is_bitwise_exact() {
    round_trip::<NdArray<f32>>("f32");
}

#[test]
fn round_trip_f64_is_bitwise_exact() {
    round_trip::<NdArray<f64>>("f64");
}

#[test]
fn scalar_models_round_trip_too() {
    let dir = scratch("scalar");
    let path = dir.join("mlp.safetensors");
    let a = Mlp::<Scalar<f64>>::new(2, &[4, 1], &mut Rng::new(1));
    let b = Mlp::<Scalar<f64>>::new(2, &[4, 1], &mut Rng::new(2));
    checkpoint::save(&a, &path).unwrap();
    checkpoint::load(&b, &path).unwrap();
    assert_eq!(snapshot(&a), snapshot(&b));
}

/// The file is standard safetensors: an 8-byte little-endian header length, a JSON header
/// giving each tensor's dtype, shape and byte range, then the raw little-endian data.
#[test]
fn metadata_is_stored_and_read_back_with_the_parameters() {
    type B = NdArray<f64>;
    let dir = scratch("metadata");
    let path = dir.join("model.safetensors");
    let trained = model::<B>(1);
    checkpoint::save_with_metadata(&trained, &path, &[("epoch", "7"), ("note", "warm-up")])
        .unwrap();
    let header = checkpoint::metadata(&path).unwrap();
    assert_eq!(header.get("epoch").map(String::as_str), Some("7"));
    assert_eq!(header.get("note").map(String::as_str), Some("warm-up"));
    assert_eq!(header.get("format").map(String::as_str), Some("pt"));

    let fresh = model::<B>(2);
    let loaded = checkpoint::load_with_metadata(&fresh, &path).unwrap();
    assert_eq!(loaded, header);
    assert_eq!(snapshot(&fresh), snapshot(&trained));

    // A file that does not fit returns no metadata and leaves the model as it was.
    let other = Sequential::<B>::new().add(Linear::new(3, 2, true, &mut Rng::new(3)));
    let before = snapshot(&other);
    assert!(matches!(
        checkpoint::load_with_metadata(&other, &path),
        Err(CheckpointError::Mismatch { .. })
    ));
    assert_eq!(snapshot(&other), before);
}

#[test]
fn the_file_is_standard_safetensors() {
    let dir = scratch("layout");
    let path = dir.join("linear.safetensors");
    let layer = Linear::from_parameters(
        Variable::<NdArray<f32>>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap(),
        Some(Variable::from_vec(vec![-1.0, 0.5], &[2]).unwrap()),
    );
    checkpoint::save(&layer, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    for (name, shape, values) in [
        ("weight", vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ("bias", vec![2], vec![-1.0, 0.5]),
    ] {
        let entry = &header[name];
        assert_eq!(entry["dtype"], "F32");
        assert_eq!(entry["shape"], serde_json::json!(shape));
        let (start, end) = (
            entry["data_offsets"][0].as_u64().unwrap() as usize,
            entry["data_offsets"][1].as_u64().unwrap() as usize,
        );
        let stored: Vec<f32> = data[start..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(stored, values);
    }
}

#[test]
fn a_failed_save_leaves_the_old_file_and_no_debris() {
    let dir = scratch("atomic");
    let path = dir.join("model.safetensors");
    let first = model::<NdArray<f32>>(1);
    checkpoint::save(&first, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    // Overwriting replaces the file whole.
    let second = model::<NdArray<f32>>(2);
    checkpoint::save(&second, &path).unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_ne!(before, after);
    let check = model::<NdArray<f32>>(3);
    checkpoint::load(&check, &path).unwrap();
    assert_eq!(snapshot(&check), snapshot(&second));
    // A save that cannot complete (the target is a directory, so the final rename fails)
    // reports the error, and the directory holds no partial file.
    let blocked = dir.join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    let err = checkpoint::save(&first, &blocked).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert!(blocked.is_dir());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["blocked", "model.safetensors"]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        after,
        "the good checkpoint is untouched"
    );
}

fn mismatch(err: CheckpointError) -> Vec<Problem> {
    match err {
        CheckpointError::Mismatch { problems, .. } => problems,
        other => panic!("expected a mismatch, got {other}"),
    }
}

#[test]
fn every_mismatch_is_reported_and_the_model_is_untouched() {
    type B = NdArray<f32>;
    let dir = scratch("mismatch");
    let path = dir.join("model.safetensors");
    let mut rng = Rng::new(0);
    // Saved: a.weight [4, 3], a.bias [4], extra.weight [2, 2]
    // Model: a.weight [4, 5] (wrong shape), a.bias [4] (fine), b.weight (missing)
    struct Saved(Linear<B>, Linear<B>);
    impl Module<B> for Saved {
        fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
            let mut p = ferrograd::nn::prefixed("a", &self.0);
            p.extend(ferrograd::nn::prefixed("extra", &self.1));
            p
        }
    }
    struct Target(Linear<B>, Linear<B>);
    impl Module<B> for Target {
        fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
            let mut p = ferrograd::nn::prefixed("a", &self.0);
            p.extend(ferrograd::nn::prefixed("b", &self.1));
            p
        }
    }
    let saved = Saved(
        Linear::new(3, 4, true, &mut rng),
        Linear::new(2, 2, false, &mut rng),
    );
    checkpoint::save(&saved, &path).unwrap();
    let target = Target(
        Linear::new(5, 4, true, &mut rng),
        Linear::new(2, 2, false, &mut rng),
    );
    let before = snapshot(&target);
    let err = checkpoint::load(&target, &path).unwrap_err();
    let message = err.to_string();
    let problems = mismatch(err);
    assert_eq!(
        problems,
        [
            Problem::Shape {
                name: "a.weight".into(),
                expected: vec![4, 5],
                found: vec![4, 3]
            },
            Problem::Missing("b.weight".into()),
            Problem::Unexpected("extra.weight".into()),
        ]
    );
    for needle in [
        "a.weight",
        "[4, 3]",
        "[4, 5]",
        "missing \"b.weight\"",
        "unexpected \"extra.weight\"",
    ] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
    assert_eq!(
        snapshot(&target),
        before,
        "a.bias fitted, but nothing was loaded"
    );
}

#[test]
fn a_wrong_dtype_is_reported() {
    let dir = scratch("dtype");
    let path = dir.join("model.safetensors");
    checkpoint::save(&model::<NdArray<f64>>(1), &path).unwrap();
    let target = model::<NdArray<f32>>(2);
    let before = snapshot(&target);
    let problems = mismatch(checkpoint::load(&target, &path).unwrap_err());
    assert_eq!(problems.len(), target.parameters().len());
    assert!(problems.iter().all(|p| matches!(p, Problem::Dtype { expected, found, .. } if expected == "f32" && found == "f64")));
    assert_eq!(snapshot(&target), before);
}

#[test]
fn corrupt_or_missing_files_are_errors() {
    let dir = scratch("corrupt");
    let path = dir.join("model.safetensors");
    let target = model::<NdArray<f32>>(2);
    let before = snapshot(&target);
    assert!(matches!(
        checkpoint::load(&target, &path).unwrap_err(),
        CheckpointError::Io { .. }
    ));
    checkpoint::save(&model::<NdArray<f32>>(1), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Truncated in the data, truncated in the header, and garbage.
    for (what, damaged) in [
        ("truncated data", bytes[..bytes.len() - 5].to_vec()),
        ("truncated header", bytes[..20].to_vec()),
        ("garbage", b"definitely not a checkpoint".to_vec()),
    ] {
        std::fs::write(&path, &damaged).unwrap();
        let err = checkpoint::load(&target, &path).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Corrupt { .. }),
            "{what}: {err}"
        );
        assert!(
            err.to_string().contains("model.safetensors"),
            "{what}: the message names the file"
        );
    }
    assert_eq!(snapshot(&target), before);
}

#[test]
fn state_dicts_in_memory() {
    type B = NdArray<f64>;
    let a = Linear::<B>::new(3, 2, true, &mut Rng::new(1));
    let b = Linear::<B>::new(3, 2, true, &mut Rng::new(2));
    b.load_state_dict(a.state_dict()).unwrap();
    assert_eq!(a.weight.to_vec(), b.weight.to_vec());
    let wrong = Linear::<B>::new(4, 2, true, &mut Rng::new(3));
    let problems = wrong.load_state_dict(a.state_dict()).unwrap_err();
    assert_eq!(problems.len(), 1);
}
