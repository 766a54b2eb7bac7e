//! How much memory a training set will need, estimated before it is built,
//! so a dataset too big for the machine is refused when the manifest is
//! validated (exit 2, nothing written) instead of grinding for minutes at
//! gigabytes and leaving a half-claimed run folder behind.
//!
//! A generated set is estimated from a small sample drawn from the same
//! generator and difficulty mix; your own data from the size of its files.
//! The coefficients are calibrated against the peak resident memory of
//! `tunix-rt data` (see `docs/training.md`), and err on the high side.

use crate::manifest::train::{DatasetConfig, DatasetName};
use crate::rng::{derive_seed, Rng};

use super::{arith, generate};

/// The limit when `TUNIX_RT_MAX_DATASET_GIB` is not set.
pub const DEFAULT_LIMIT_GIB: f64 = 4.0;
/// The environment variable that raises (or lowers) the limit, in GiB.
pub const LIMIT_ENV: &str = "TUNIX_RT_MAX_DATASET_GIB";

/// Examples drawn to measure a generator's mean example size.
const SAMPLE: usize = 256;
/// Bytes held per example besides its text: the example's strings and
/// their allocations, the normalized-prompt set that keeps validation
/// disjoint from training, and the encoded offsets.
const PER_EXAMPLE: f64 = 160.0;
/// Copies of each example's text alive at the peak (the example itself,
/// its normalized prompt, the encoded training bytes).
const TEXT_COPIES: f64 = 3.0;
/// Bytes held per byte of your own JSONL files at the peak (the parsed
/// examples, the shuffle order and the encoded bytes).
const PER_FILE_BYTE: f64 = 3.0;

const GIB: f64 = (1u64 << 30) as f64;

/// A dataset's estimated peak memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Examples of both splits (generated sets); `None` for your own files.
    pub examples: Option<u64>,
    /// Bytes of text per example (generated sets) or of files in all.
    pub text_bytes: f64,
    pub bytes: f64,
}

impl Estimate {
    pub fn gib(&self) -> f64 {
        self.bytes / GIB
    }
}

/// A generated set's estimate: the generator's mean example size measured
/// on a sample, times the examples of both splits. `None` for your own
/// data (see [`files`]).
pub fn generated(config: &DatasetConfig) -> Option<Estimate> {
    let name = config.name?;
    let mut rng = Rng::new(derive_seed(config.seed, "dataset-budget"));
    let text: usize = (0..SAMPLE)
        .map(|_| {
            let ex = match name {
                DatasetName::DevReasoningV2 => generate::problem(&mut rng, &config.difficulty),
                DatasetName::DevReasoningV3 => {
                    arith::problem(&mut rng, &config.difficulty, config.trace)
                }
            };
            ex.prompt.len() + ex.completion.len() + ex.answer.len()
        })
        .sum();
    let mean = text as f64 / SAMPLE as f64;
    let examples = u64::from(config.train_examples) + u64::from(config.val_examples);
    Some(Estimate {
        examples: Some(examples),
        text_bytes: mean,
        bytes: examples as f64 * (TEXT_COPIES * mean + PER_EXAMPLE),
    })
}

/// Your own data's estimate from the total size of its files.
pub fn files(total_bytes: u64) -> Estimate {
    Estimate {
        examples: None,
        text_bytes: total_bytes as f64,
        bytes: total_bytes as f64 * PER_FILE_BYTE,
    }
}

/// The limit in bytes: [`LIMIT_ENV`] when set (a positive number of GiB),
/// else [`DEFAULT_LIMIT_GIB`].
pub fn limit_bytes() -> Result<f64, BadLimit> {
    match std::env::var(LIMIT_ENV) {
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(g) if g.is_finite() && g > 0.0 => Ok(g * GIB),
            _ => Err(BadLimit { value: v }),
        },
        Err(_) => Ok(DEFAULT_LIMIT_GIB * GIB),
    }
}

/// A [`LIMIT_ENV`] that is not a positive number of GiB.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{env}={value:?} is not a positive number of GiB (e.g. {env}=16)", env = LIMIT_ENV)]
pub struct BadLimit {
    /// The variable's value, as set.
    pub value: String,
}

/// Why `estimate` is over `limit`, or `None` when it fits: how big the
/// dataset would be and what to lower.
pub fn over_limit(estimate: &Estimate, limit: f64) -> Option<(String, String)> {
    if estimate.bytes <= limit {
        return None;
    }
    let what = match estimate.examples {
        Some(n) => format!(
            "{n} examples of ~{:.0} bytes would need about {:.1} GiB of memory to build",
            estimate.text_bytes,
            estimate.gib()
        ),
        None => format!(
            "{:.1} MiB of data files would need about {:.1} GiB of memory to load",
            estimate.text_bytes / (1u64 << 20) as f64,
            estimate.gib()
        ),
    };
    let message = format!("{what}, over the {:.1} GiB limit", limit / GIB);
    let hint = match estimate.examples {
        Some(n) => {
            let fits = (limit / (estimate.bytes / n.max(1) as f64)).floor() as u64;
            format!(
                "lower train_examples + val_examples to at most about {fits}, or raise the limit with {LIMIT_ENV}=<GiB> if this machine has the memory"
            )
        }
        None => format!(
            "train on a smaller file, or raise the limit with {LIMIT_ENV}=<GiB> if this machine has the memory"
        ),
    };
    Some((message, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_limit_names_the_variable_and_its_value() {
        let err = BadLimit {
            value: "lots".to_string(),
        };
        assert_eq!(
            err.to_string(),
            "TUNIX_RT_MAX_DATASET_GIB=\"lots\" is not a positive number of GiB (e.g. TUNIX_RT_MAX_DATASET_GIB=16)"
        );
    }

    fn config(name: DatasetName, train: u32, val: u32) -> DatasetConfig {
        let mut config: DatasetConfig =
            serde_json::from_value(serde_json::json!({})).expect("every dataset key has a default");
        config.name = Some(name);
        config.train_examples = train;
        config.val_examples = val;
        config
    }

    #[test]
    fn the_estimate_grows_with_the_examples() {
        for name in [DatasetName::DevReasoningV2, DatasetName::DevReasoningV3] {
            let small = generated(&config(name, 1000, 100)).expect("generated");
            let big = generated(&config(name, 10_000, 1000)).expect("generated");
            assert!((big.bytes / small.bytes - 10.0).abs() < 1e-9);
            assert!(small.text_bytes > 50.0 && small.text_bytes < 1000.0);
        }
    }

    #[test]
    fn ten_million_examples_are_over_the_default_limit_and_the_quickstart_is_not() {
        let limit = DEFAULT_LIMIT_GIB * GIB;
        let huge = generated(&config(DatasetName::DevReasoningV3, 10_000_000, 1_000_000))
            .expect("generated");
        let (message, hint) = over_limit(&huge, limit).expect("over the limit");
        assert!(message.contains("11000000 examples"), "{message}");
        assert!(message.contains("GiB limit"), "{message}");
        assert!(
            hint.contains("train_examples") && hint.contains(LIMIT_ENV),
            "{hint}"
        );
        let quick =
            generated(&config(DatasetName::DevReasoningV3, 50_000, 500)).expect("generated");
        assert_eq!(over_limit(&quick, limit), None);
    }

    #[test]
    fn the_hint_names_a_size_that_fits() {
        let limit = GIB;
        let e =
            generated(&config(DatasetName::DevReasoningV2, 5_000_000, 1000)).expect("generated");
        let (_, hint) = over_limit(&e, limit).expect("over");
        let fits: f64 = hint
            .split("at most about ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok())
            .expect("a number in the hint");
        let per = e.bytes / e.examples.expect("count") as f64;
        assert!(fits * per <= limit && (fits + 1.0) * per > limit);
    }

    #[test]
    fn files_scale_with_their_size() {
        let e = files(1 << 30);
        assert!((e.gib() - PER_FILE_BYTE).abs() < 1e-9);
        assert_eq!(over_limit(&files(1 << 30), DEFAULT_LIMIT_GIB * GIB), None);
        assert!(over_limit(&files(2 << 30), DEFAULT_LIMIT_GIB * GIB).is_some());
    }
}
