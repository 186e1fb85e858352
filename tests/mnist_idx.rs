//! The MNIST example's IDX reader, on small files written here: plain and gzip, and every
//! kind of malformed file, each reported with the file's name and what is wrong.

#[path = "../examples/mnist/idx.rs"]
#[allow(dead_code)]
mod idx;

use std::io::Write;

#[path = "common/scratch.rs"]
mod scratch;

use scratch::scratch;

/// An IDX file of bytes with the given dimensions and data.
fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn reads_plain_and_gzip_files() {
    let dir = scratch("ok");
    let images: Vec<u8> = (0..3 * 2 * 2).collect();
    std::fs::write(dir.join("images"), idx_bytes(&[3, 2, 2], &images)).unwrap();
    std::fs::write(dir.join("labels.gz"), gzip(&idx_bytes(&[3], &[7, 0, 9]))).unwrap();
    let plain = idx::read(&dir.join("images")).unwrap();
    assert_eq!(
        plain,
        idx::Idx {
            dims: vec![3, 2, 2],
            data: images
        }
    );
    let set = idx::read_labelled(&dir.join("images"), &dir.join("labels.gz")).unwrap();
    assert_eq!(set.labels, [7, 0, 9]);
    assert_eq!(set.images.data[4..8], [4, 5, 6, 7]);
}

#[track_caller]
fn malformed(bytes: &[u8], needle: &str) {
    let dir = scratch("bad");
    let path = dir.join("broken-idx3-ubyte");
    std::fs::write(&path, bytes).unwrap();
    let err = idx::read(&path).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, idx::IdxError::Malformed { .. }), "{message}");
    assert!(
        message.contains("broken-idx3-ubyte"),
        "names the file: {message}"
    );
    assert!(message.contains(needle), "{message} should say {needle:?}");
}

#[test]
fn malformed_files_are_described() {
    malformed(&[0, 0], "too short");
    malformed(&[1, 0, 8, 1, 0, 0, 0, 0], "bad magic number");
    malformed(
        &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0],
        "element type 0x0d",
    );
    malformed(&[0, 0, 8, 3, 0, 0, 0, 1], "header of 3 dimensions");
    malformed(&idx_bytes(&[2, 3], &[1, 2, 3, 4]), "truncated");
    malformed(&idx_bytes(&[2], &[1, 2, 3]), "trailing bytes");
    malformed(&[0x1f, 0x8b, 8, 0, 1, 2, 3], "gzip data is damaged");
}

#[test]
fn images_and_labels_must_agree() {
    let dir = scratch("pair");
    std::fs::write(dir.join("images"), idx_bytes(&[2, 1, 1], &[0, 0])).unwrap();
    std::fs::write(dir.join("labels"), idx_bytes(&[3], &[1, 2, 3])).unwrap();
    let err = idx::read_labelled(&dir.join("images"), &dir.join("labels"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("3 labels for 2 images"), "{err}");
    std::fs::write(dir.join("labels"), idx_bytes(&[2], &[1, 12])).unwrap();
    let err = idx::read_labelled(&dir.join("images"), &dir.join("labels"))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("label 12 at position 1 is not a digit"),
        "{err}"
    );
    let err = idx::read(&dir.join("nonexistent")).unwrap_err();
    assert!(
        matches!(err, idx::IdxError::Io { .. }) && err.to_string().contains("nonexistent"),
        "{err}"
    );
}
