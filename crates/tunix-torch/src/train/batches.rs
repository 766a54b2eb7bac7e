//! Training and validation batches built per example, with next-token
//! targets. Targets the loss must not see — padding, and the prompt when
//! the loss is on the completion only — are [`IGNORE`], which the
//! cross-entropy skips.
//!
//! Two layouts ([`Batching`]):
//! - **packed**: whole examples one after another in rows of `context`
//!   tokens; every token carries its position within its own example and
//!   its example's segment number, and attention is allowed only within a
//!   segment, so an example's logits are the same whatever shares its row;
//! - **padded**: one example per row, right-padded to the batch's longest
//!   row (causal attention never lets a real token see the padding after
//!   it, so no mask is needed).

use tunix_core::dataset::Example;
use tunix_core::manifest::train::{Batching, LossOn};
use tunix_core::rng::{derive_seed, Rng};

use super::encode::Encode;
pub use super::token_store::{EncodeError, TokenStore};

/// Consecutive draws that fit no row before a packed batch is closed.
const MISSES: usize = 8;

/// The target of a position the loss skips (libtorch's `ignore_index`).
pub const IGNORE: i64 = -100;

/// Token ids and targets of one batch, row-major `[rows, width]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub inputs: Vec<i64>,
    pub targets: Vec<i64>,
    /// Each token's position within its own example.
    pub positions: Vec<i64>,
    /// Each token's example within its row (padding: -1); `None` when
    /// every row is one example (causal attention is the whole mask).
    pub segments: Option<Vec<i64>>,
    pub rows: usize,
    pub width: usize,
    /// Input positions that hold an example's token (not padding).
    pub real_tokens: usize,
}

impl Batch {
    /// Share of the batch's input positions that are padding.
    pub fn padding_fraction(&self) -> f64 {
        let total = self.rows * self.width;
        if total == 0 {
            0.0
        } else {
            1.0 - self.real_tokens as f64 / total as f64
        }
    }
}

/// A split's examples as ids, ready to batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examples {
    store: TokenStore,
    context: usize,
    batching: Batching,
}

impl Examples {
    /// Encode `examples` as the model sees them: the prompt through
    /// `template`, then the completion, each as `encoder` frames it (see
    /// [`TokenStore`]). An example longer than `context + 1` ids keeps its
    /// end (the completion).
    pub fn new(
        examples: &[Example],
        template: &str,
        context: usize,
        loss_on: LossOn,
        batching: Batching,
        encoder: &dyn Encode,
    ) -> Result<Self, EncodeError> {
        Ok(Examples {
            store: TokenStore::new(examples, template, context, loss_on, encoder)?,
            context,
            batching,
        })
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Ids of every example together.
    pub fn tokens(&self) -> usize {
        self.store.tokens()
    }

    /// Input ids and targets of example `i`: `len - 1` of each.
    fn pairs(&self, i: usize) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.store.pairs(i, IGNORE)
    }

    /// Positions example `i` takes in a row.
    fn width_of(&self, i: usize) -> usize {
        self.store.example_len(i).saturating_sub(1)
    }

    /// Rows of `context` tokens filled with the examples `next` yields,
    /// in order, each whole; an example that does not fit starts the next
    /// row. Stops after `rows` rows (or when `next` runs out); an example
    /// drawn but not placed is left in `pending`, and placed first when
    /// `pending` holds one.
    fn packed(
        &self,
        rows: usize,
        pending: &mut Option<usize>,
        mut next: impl FnMut() -> Option<usize>,
    ) -> Batch {
        let width = self.context;
        let mut batch = Batch {
            inputs: Vec::with_capacity(rows * width),
            targets: Vec::with_capacity(rows * width),
            positions: Vec::with_capacity(rows * width),
            segments: Some(Vec::with_capacity(rows * width)),
            rows: 0,
            width,
            real_tokens: 0,
        };
        if pending.is_none() {
            *pending = next();
        }
        while batch.rows < rows {
            let Some(first) = *pending else { break };
            let mut used = 0;
            let mut segment = 0;
            let mut current = Some(first);
            while let Some(i) = current.filter(|&i| used + self.width_of(i) <= width) {
                for (t, (input, target)) in self.pairs(i).enumerate() {
                    batch.inputs.push(input);
                    batch.targets.push(target);
                    batch.positions.push(t as i64);
                }
                let segments = batch.segments.get_or_insert_with(Vec::new);
                segments.extend(std::iter::repeat_n(segment, self.width_of(i)));
                used += self.width_of(i);
                segment += 1;
                current = next();
            }
            *pending = current;
            let pad = width - used;
            batch.inputs.extend(std::iter::repeat_n(0, pad));
            batch.targets.extend(std::iter::repeat_n(IGNORE, pad));
            batch.positions.extend(std::iter::repeat_n(0, pad));
            let segments = batch.segments.get_or_insert_with(Vec::new);
            segments.extend(std::iter::repeat_n(-1, pad));
            batch.real_tokens += used;
            batch.rows += 1;
        }
        batch
    }

    /// Examples drawn by `draw` placed first-fit into `rows` rows of
    /// `context` tokens, in row order: each draw goes to the first row it
    /// fits; drawing stops after [`MISSES`] draws in a row fit nowhere.
    fn first_fit(&self, rows: usize, mut draw: impl FnMut() -> usize) -> Vec<usize> {
        let mut free = vec![self.context; rows.max(1)];
        let mut placed: Vec<Vec<usize>> = vec![Vec::new(); rows.max(1)];
        let mut misses = 0;
        while misses < MISSES && !self.is_empty() {
            let i = draw();
            let w = self.width_of(i);
            match free.iter().position(|&f| f >= w) {
                Some(r) => {
                    free[r] -= w;
                    placed[r].push(i);
                    misses = 0;
                }
                None => misses += 1,
            }
        }
        placed.into_iter().flatten().collect()
    }

    /// The batch of the examples at `indices`, one per row.
    pub fn batch(&self, indices: &[usize]) -> Batch {
        let width = indices
            .iter()
            .map(|&i| self.width_of(i))
            .max()
            .unwrap_or(0)
            .clamp(1, self.context);
        let mut batch = Batch {
            inputs: Vec::with_capacity(indices.len() * width),
            targets: Vec::with_capacity(indices.len() * width),
            positions: Vec::with_capacity(indices.len() * width),
            segments: None,
            rows: indices.len(),
            width,
            real_tokens: 0,
        };
        for &i in indices {
            let n = self.width_of(i);
            for (input, target) in self.pairs(i) {
                batch.inputs.push(input);
                batch.targets.push(target);
            }
            batch
                .positions
                .extend((0..width as i64).map(|p| p.min(n as i64)));
            batch.real_tokens += n;
            batch.inputs.extend(std::iter::repeat_n(0, width - n));
            batch.targets.extend(std::iter::repeat_n(IGNORE, width - n));
        }
        batch
    }

    /// The training batch number `step` (an optimizer step's, or with
    /// gradient accumulation a pass's): `rows` examples drawn
    /// from a generator seeded with (seed, step), so any step's batch can
    /// be recreated without replaying earlier ones (exact resume).
    pub fn train_batch(&self, seed: u64, step: u64, rows: usize) -> Batch {
        let mut rng = Rng::new(derive_seed(seed, &format!("batch/{step}")));
        match self.batching {
            Batching::Padded => {
                let indices: Vec<usize> = (0..rows).map(|_| rng.index(self.len())).collect();
                self.batch(&indices)
            }
            Batching::Packed => {
                let placed = self.first_fit(rows, || rng.index(self.len()));
                let mut order = placed.into_iter();
                self.packed(rows, &mut None, || order.next())
            }
        }
    }

    /// Up to `max_batches` validation batches of `rows` rows, the examples
    /// in order.
    pub fn val_batches(&self, rows: usize, max_batches: usize) -> Vec<Batch> {
        let rows = rows.max(1);
        match self.batching {
            Batching::Padded => {
                let n = self.len().min(rows * max_batches);
                let indices: Vec<usize> = (0..n).collect();
                indices.chunks(rows).map(|c| self.batch(c)).collect()
            }
            Batching::Packed => {
                let mut order = 0..self.len();
                let mut pending = None;
                let mut out = Vec::new();
                while out.len() < max_batches {
                    let b = self.packed(rows, &mut pending, || order.next());
                    if b.real_tokens == 0 {
                        break;
                    }
                    out.push(b);
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::encode::ByteEncoder;

    fn bytes(
        examples: &[Example],
        template: &str,
        context: usize,
        loss_on: LossOn,
        batching: Batching,
    ) -> Examples {
        Examples::new(examples, template, context, loss_on, batching, &ByteEncoder)
            .expect("bytes always encode")
    }

    fn ex(prompt: &str, completion: &str) -> Example {
        Example {
            prompt: prompt.to_string(),
            completion: completion.to_string(),
            answer: String::new(),
            steps: 1,
        }
    }

    fn set(loss_on: LossOn) -> Examples {
        let examples = vec![
            ex("1+1?", "<<1+1=2>> Answer: 2"),
            ex("What is 12 times 3?", "<<12*3=36>> Answer: 36"),
            ex("x", "y"),
        ];
        bytes(&examples, "Q: {prompt}\nA:", 64, loss_on, Batching::Padded)
    }

    #[test]
    fn packed_rows_hold_whole_examples_with_their_own_positions() {
        let examples = vec![
            ex("1+1?", "<<1+1=2>> Answer: 2"),
            ex("What is 12 times 3?", "<<12*3=36>> Answer: 36"),
            ex("x", "y"),
        ];
        let packed = bytes(
            &examples,
            "Q: {prompt}\nA:",
            64,
            LossOn::Completion,
            Batching::Packed,
        );
        let padded = bytes(
            &examples,
            "Q: {prompt}\nA:",
            64,
            LossOn::Completion,
            Batching::Padded,
        );
        let mut order = vec![0usize, 2, 1, 0].into_iter();
        let b = packed.packed(3, &mut None, || order.next());
        assert_eq!(b.width, 64);
        let seg = b.segments.as_ref().expect("packed rows have segments");
        // Row 0: examples 0 and 2 (30 + 9 positions); example 1 (47) does
        // not fit after them and starts row 1; example 0 follows in row 2.
        let row_of = |r: usize, v: &[i64]| v[r * 64..(r + 1) * 64].to_vec();
        let lens = [padded.width_of(0), padded.width_of(2), padded.width_of(1)];
        assert!(lens[0] + lens[1] + lens[2] > 64);
        assert_eq!(row_of(0, seg)[..lens[0]], vec![0; lens[0]][..]);
        assert_eq!(
            row_of(0, seg)[lens[0]..lens[0] + lens[1]],
            vec![1; lens[1]][..]
        );
        assert!(row_of(0, seg)[lens[0] + lens[1]..].iter().all(|&s| s == -1));
        assert_eq!(b.rows, 3);
        // Each packed example carries exactly the tokens, targets and
        // positions it has alone.
        let alone = |i: usize| padded.batch(&[i]);
        let check = |r: usize, from: usize, i: usize| {
            let a = alone(i);
            let n = padded.width_of(i);
            assert_eq!(row_of(r, &b.inputs)[from..from + n], a.inputs[..n]);
            assert_eq!(row_of(r, &b.targets)[from..from + n], a.targets[..n]);
            assert_eq!(row_of(r, &b.positions)[from..from + n], a.positions[..n]);
        };
        check(0, 0, 0);
        check(0, lens[0], 2);
        check(1, 0, 1);
        check(2, 0, 0);
        assert_eq!(b.real_tokens, 2 * lens[0] + lens[1] + lens[2]);
    }

    fn row<'a>(b: &'a Batch, r: usize, v: &'a [i64]) -> &'a [i64] {
        &v[r * b.width..(r + 1) * b.width]
    }

    #[test]
    fn targets_are_inputs_shifted_and_the_prompt_is_masked() {
        let s = set(LossOn::Completion);
        let b = s.batch(&[0]);
        let text = b"Q: 1+1?\nA: <<1+1=2>> Answer: 2\n";
        assert_eq!(b.width, text.len() - 1);
        let prompt_len = "Q: 1+1?\nA:".len();
        for t in 0..b.width {
            assert_eq!(b.inputs[t], i64::from(text[t]));
            let want = if t + 1 >= prompt_len {
                i64::from(text[t + 1])
            } else {
                IGNORE
            };
            assert_eq!(b.targets[t], want, "position {t}");
        }
        let all = set(LossOn::All).batch(&[0]);
        assert!(all.targets.iter().all(|&t| t != IGNORE));
    }

    #[test]
    fn calculator_results_can_be_left_out_of_the_loss() {
        let s = set(LossOn::CompletionExceptCalculator);
        let b = s.batch(&[1]);
        let learned: String = b
            .targets
            .iter()
            .map(|&t| if t == IGNORE { '_' } else { t as u8 as char })
            .collect();
        let prompt = "Q: What is 12 times 3?\nA:".len() - 1;
        assert_eq!(
            &learned[prompt..],
            " <<12*3=____ Answer: 36\n",
            "the `=` is learned, the result and `>>` are the calculator's"
        );
    }

    #[test]
    fn rows_are_right_padded_and_padding_is_ignored() {
        let s = set(LossOn::Completion);
        let b = s.batch(&[2, 1]);
        assert_eq!(b.rows, 2);
        let short = "Q: x\nA: y\n".len() - 1;
        assert_eq!(
            b.real_tokens,
            short + "Q: What is 12 times 3?\nA: <<12*3=36>> Answer: 36\n".len() - 1
        );
        assert!(row(&b, 0, &b.targets)[short..].iter().all(|&t| t == IGNORE));
        assert!(row(&b, 0, &b.inputs)[short..].iter().all(|&t| t == 0));
        assert!(b.padding_fraction() > 0.0 && b.padding_fraction() < 1.0);
        // A row is the same whichever rows share its batch.
        let alone = s.batch(&[1]);
        assert_eq!(row(&b, 1, &b.inputs), &alone.inputs[..]);
        assert_eq!(row(&b, 1, &b.targets), &alone.targets[..]);
    }

    #[test]
    fn long_examples_keep_their_completion() {
        let long = ex(&"w".repeat(100), "<<2*3=6>> Answer: 6");
        let s = bytes(
            &[long],
            "Q: {prompt}\nA:",
            32,
            LossOn::Completion,
            Batching::Padded,
        );
        let b = s.batch(&[0]);
        assert_eq!(b.width, 32);
        let learned: Vec<u8> = b
            .targets
            .iter()
            .filter(|&&t| t != IGNORE)
            .map(|&t| t as u8)
            .collect();
        assert_eq!(learned, b" <<2*3=6>> Answer: 6\n");
    }

    #[test]
    fn batches_depend_only_on_seed_and_step() {
        let examples: Vec<Example> = (0..50).map(|i| ex(&format!("p{i}"), "c")).collect();
        for batching in [Batching::Packed, Batching::Padded] {
            let s = bytes(&examples, "{prompt}", 16, LossOn::Completion, batching);
            assert_eq!(s.train_batch(3, 17, 4), s.train_batch(3, 17, 4));
            assert_ne!(s.train_batch(3, 17, 4), s.train_batch(3, 18, 4));
            assert_ne!(s.train_batch(3, 17, 4), s.train_batch(4, 17, 4));
        }
    }

    #[test]
    fn validation_batches_cover_the_examples_in_order() {
        let examples: Vec<Example> = (0..10).map(|i| ex(&format!("p{i}"), "c")).collect();
        let s = bytes(
            &examples,
            "{prompt}",
            16,
            LossOn::Completion,
            Batching::Padded,
        );
        let v = s.val_batches(4, 2);
        assert_eq!(v.iter().map(|b| b.rows).sum::<usize>(), 8);
        assert_eq!(s.val_batches(4, 5).len(), 3);
        // Packed: "p0 c\n" takes 4 positions, 4 per 16-token row, 2 rows
        // per batch: 8 examples, then 2, then nothing more.
        let p = bytes(
            &examples,
            "{prompt}",
            16,
            LossOn::Completion,
            Batching::Packed,
        );
        let v = p.val_batches(2, 5);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].real_tokens, v[1].real_tokens), (32, 8));
    }
}
