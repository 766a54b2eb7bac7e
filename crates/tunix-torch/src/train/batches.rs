//! Training and validation batches: windows of `context` tokens cut from a
//! split's byte stream, with next-token targets.

use tunix_rt::rng::{derive_seed, Rng};

/// Token ids and targets of one batch, row-major `[batch, context]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub inputs: Vec<i64>,
    pub targets: Vec<i64>,
    pub rows: usize,
    pub context: usize,
}

impl Batch {
    fn push_window(&mut self, stream: &[u8], start: usize) {
        let window = &stream[start..start + self.context + 1];
        self.inputs
            .extend(window[..self.context].iter().map(|&b| i64::from(b)));
        self.targets
            .extend(window[1..].iter().map(|&b| i64::from(b)));
        self.rows += 1;
    }

    fn empty(context: usize) -> Self {
        Batch {
            inputs: Vec::new(),
            targets: Vec::new(),
            rows: 0,
            context,
        }
    }
}

/// The training batch of optimizer step `step`: `rows` windows at offsets
/// drawn from a generator seeded with (seed, step), so any step's batch can
/// be recreated without replaying earlier ones (exact resume).
///
/// The stream must be longer than `context` (checked by the caller).
pub fn train_batch(stream: &[u8], seed: u64, step: u32, rows: usize, context: usize) -> Batch {
    let mut rng = Rng::new(derive_seed(seed, &format!("batch/{step}")));
    let starts = (stream.len() - context) as u64;
    let mut batch = Batch::empty(context);
    for _ in 0..rows {
        batch.push_window(stream, rng.below(starts) as usize);
    }
    batch
}

/// Up to `max_batches` validation batches of evenly spaced windows.
pub fn val_batches(stream: &[u8], rows: usize, context: usize, max_batches: usize) -> Vec<Batch> {
    if stream.len() <= context {
        return Vec::new();
    }
    let windows = ((stream.len() - 1) / context)
        .min(rows * max_batches)
        .max(1);
    let stride = (stream.len() - context - 1) / windows.max(1);
    let mut out = Vec::new();
    let mut batch = Batch::empty(context);
    for w in 0..windows {
        batch.push_window(stream, w * stride);
        if batch.rows == rows {
            out.push(std::mem::replace(&mut batch, Batch::empty(context)));
        }
    }
    if batch.rows > 0 {
        out.push(batch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_inputs_shifted_by_one() {
        let stream: Vec<u8> = (0..=200).collect();
        let b = train_batch(&stream, 1, 0, 3, 16);
        assert_eq!(b.rows, 3);
        for r in 0..3 {
            let x = &b.inputs[r * 16..(r + 1) * 16];
            let y = &b.targets[r * 16..(r + 1) * 16];
            assert_eq!(&x[1..], &y[..15]);
            assert_eq!(y[15], x[15] + 1);
        }
    }

    #[test]
    fn batches_depend_only_on_seed_and_step() {
        let stream: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(
            train_batch(&stream, 3, 17, 4, 32),
            train_batch(&stream, 3, 17, 4, 32)
        );
        assert_ne!(
            train_batch(&stream, 3, 17, 4, 32),
            train_batch(&stream, 3, 18, 4, 32)
        );
        assert_ne!(
            train_batch(&stream, 3, 17, 4, 32),
            train_batch(&stream, 4, 17, 4, 32)
        );
    }

    #[test]
    fn validation_windows_cover_the_stream_in_order() {
        let stream: Vec<u8> = vec![1; 1000];
        let v = val_batches(&stream, 4, 32, 2);
        assert_eq!(v.iter().map(|b| b.rows).sum::<usize>(), 8);
        assert!(val_batches(&stream[..10], 4, 32, 2).is_empty());
    }
}
