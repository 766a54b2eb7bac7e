//! The Hugging Face tokenizer and greedy decoding (`tunix_torch::hf`)
//! against what `make_fixtures.py` recorded from `tokenizers` and
//! `transformers` (committed, so no Python is needed here): token ids of
//! fixed strings (non-ASCII included), the stop ids, KV-cache decoding
//! against full recomputation, and greedy continuations batched with left
//! padding and alone, with and without an early stop token, for every
//! fixture (Llama, Qwen2, Mistral's sliding window, Gemma, Llama 3 RoPE,
//! GPT-2's learned positions).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tch::{Device, Kind, Tensor};
use tunix_torch::hf::{generate_greedy, GenerateOptions, HfModel, HfTokenizer};

const MODELS: [&str; 6] = [
    "llama-gqa",
    "qwen2-tied",
    "mistral-swa",
    "gemma",
    "llama3-rope",
    "gpt2",
];
const PAD: i64 = 2;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

fn json(name: &str, file: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name).join(file)).expect("fixture");
    serde_json::from_str(&text).expect("fixture")
}

fn ids(v: &Value) -> Vec<Vec<i64>> {
    serde_json::from_value(v.clone()).expect("fixture")
}

fn load(name: &str) -> (HfModel, HfTokenizer) {
    let dir = fixture(name);
    (
        HfModel::load(&dir, Device::Cpu).expect("fixture"),
        HfTokenizer::load(&dir).expect("fixture"),
    )
}

fn options(tok: &HfTokenizer, max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_new_tokens,
        stop_ids: tok.stop_ids().iter().map(|&i| i64::from(i)).collect(),
        pad_id: PAD,
    }
}

#[test]
fn tokenizer_ids_match_the_recorded_ones() {
    for name in MODELS {
        let tok = HfTokenizer::load(&fixture(name)).unwrap();
        assert_eq!(tok.vocab_size(), 320);
        let reference = json(name, "reference.json");
        let strings: Vec<String> = serde_json::from_value(reference["strings"].clone()).unwrap();
        let want = ids(&reference["token_ids"]);
        assert!(strings.iter().any(|s| s.contains("日本語")));
        for (s, want) in strings.iter().zip(&want) {
            let got: Vec<i64> = tok
                .encode(s, true)
                .unwrap()
                .into_iter()
                .map(i64::from)
                .collect();
            assert_eq!(&got, want, "{name}: {s:?}");
            let ids: Vec<u32> = got.iter().map(|&i| i as u32).collect();
            assert_eq!(&tok.decode(&ids, false).unwrap(), s, "{name}: {s:?}");
        }
        let prompts = json(name, "generate.json");
        let texts: Vec<String> = serde_json::from_value(prompts["prompts"].clone()).unwrap();
        for (text, want) in texts.iter().zip(ids(&prompts["prompt_ids"])) {
            let got: Vec<i64> = tok
                .encode(text, false)
                .unwrap()
                .into_iter()
                .map(i64::from)
                .collect();
            assert_eq!(got, want, "{name}: {text:?}");
        }
    }
}

#[test]
fn stop_ids_come_from_tokenizer_and_generation_config() {
    let llama = HfTokenizer::load(&fixture("llama-gqa")).unwrap();
    assert_eq!((llama.bos_id(), llama.eos_id()), (Some(0), Some(1)));
    assert_eq!(llama.stop_ids(), [1]);
    // eos_token `<|im_end|>` (3), generation_config's eos_token_id [1, 3].
    let qwen = HfTokenizer::load(&fixture("qwen2-tied")).unwrap();
    assert_eq!(qwen.eos_id(), Some(3));
    assert_eq!(qwen.stop_ids(), [3, 1]);
    for name in MODELS {
        let recorded: Vec<u32> =
            serde_json::from_value(json(name, "generate.json")["stop_ids"].clone()).unwrap();
        let (mut got, mut want) = (
            HfTokenizer::load(&fixture(name))
                .unwrap()
                .stop_ids()
                .to_vec(),
            recorded,
        );
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn greedy_batch_and_alone_match_transformers_generate() {
    for name in MODELS {
        let (model, tok) = load(name);
        let reference = json(name, "generate.json");
        let prompts = ids(&reference["prompt_ids"]);
        assert_ne!(
            prompts[0].len(),
            prompts[1].len(),
            "left padding is exercised"
        );
        let max_new = reference["max_new_tokens"].as_u64().unwrap() as usize;
        let want = ids(&reference["batch"]);
        let opts = options(&tok, max_new);
        let got = generate_greedy(&model, &prompts, &opts).unwrap();
        assert_eq!(got, want, "{name}: batched");
        for (p, w) in prompts.iter().zip(&want) {
            let alone = generate_greedy(&model, std::slice::from_ref(p), &opts).unwrap();
            assert_eq!(&alone[0], w, "{name}: alone");
        }
    }
}

#[test]
fn rows_stop_at_a_stop_token_as_transformers_does() {
    for name in MODELS {
        let (model, _) = load(name);
        let reference = json(name, "generate.json");
        let prompts = ids(&reference["prompt_ids"]);
        let early = reference["early_stop_id"].as_i64().unwrap();
        let want = ids(&reference["early_stopped"]);
        let opts = GenerateOptions {
            max_new_tokens: reference["max_new_tokens"].as_u64().unwrap() as usize,
            stop_ids: vec![early],
            pad_id: PAD,
        };
        let got = generate_greedy(&model, &prompts, &opts).unwrap();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            got[0].last(),
            Some(&early),
            "{name}: row 0 ends at the stop token"
        );
        assert!(
            got[0].len() < opts.max_new_tokens,
            "{name}: row 0 stopped early"
        );
        assert!(!got[1].contains(&early), "{name}: row 1 runs on");
    }
}

/// Greedy tokens by recomputing the whole left-padded sequence at every
/// step (no cache), and the logits of each step's last position.
fn greedy_recomputed(
    model: &HfModel,
    prompts: &[Vec<i64>],
    steps: usize,
) -> (Vec<Vec<i64>>, Vec<Tensor>) {
    let width = prompts.iter().map(Vec::len).max().expect("a prompt");
    let mut rows: Vec<Vec<i64>> = prompts
        .iter()
        .map(|p| {
            std::iter::repeat_n(PAD, width - p.len())
                .chain(p.iter().copied())
                .collect()
        })
        .collect();
    let mut masks: Vec<Vec<i64>> = prompts
        .iter()
        .map(|p| {
            std::iter::repeat_n(0, width - p.len())
                .chain(std::iter::repeat_n(1, p.len()))
                .collect()
        })
        .collect();
    let (mut out, mut logits) = (vec![Vec::new(); prompts.len()], Vec::new());
    for _ in 0..steps {
        let (b, t) = (rows.len() as i64, rows[0].len() as i64);
        let ids = Tensor::from_slice(&rows.concat()).view([b, t]);
        let mask = Tensor::from_slice(&masks.concat()).view([b, t]);
        let last = model
            .forward_masked(&ids, Some(&mask))
            .expect("forward")
            .select(1, -1);
        let next = Vec::<i64>::try_from(&last.argmax(-1, false)).expect("argmax");
        for (r, &tok) in next.iter().enumerate() {
            out[r].push(tok);
            rows[r].push(tok);
            masks[r].push(1);
        }
        logits.push(last);
    }
    (out, logits)
}

#[test]
fn kv_cache_decoding_equals_full_recomputation() {
    for name in MODELS {
        let (model, _) = load(name);
        let prompts = ids(&json(name, "generate.json")["prompt_ids"]);
        let steps = 6;
        let (want, want_logits) = greedy_recomputed(&model, &prompts, steps);
        let opts = GenerateOptions {
            max_new_tokens: steps,
            stop_ids: Vec::new(),
            pad_id: PAD,
        };
        assert_eq!(
            generate_greedy(&model, &prompts, &opts).unwrap(),
            want,
            "{name}"
        );

        // The same steps by hand through the cache: equal logits.
        let width = prompts.iter().map(Vec::len).max().unwrap();
        let b = prompts.len() as i64;
        let max_len = (width + steps) as i64;
        let mut cache = model.new_cache(b, max_len).unwrap();
        assert_eq!(cache.keys(0).unwrap().size()[2], max_len);
        let pad: Vec<usize> = prompts.iter().map(|p| width - p.len()).collect();
        let mut valid = Vec::new();
        for &p in &pad {
            valid.extend((0..max_len as usize).map(|j| j >= p));
        }
        let key_mask = Tensor::from_slice(&valid).view([b, max_len]);
        let flat: Vec<i64> = prompts
            .iter()
            .flat_map(|p| std::iter::repeat_n(PAD, width - p.len()).chain(p.iter().copied()))
            .collect();
        let pos: Vec<i64> = pad
            .iter()
            .flat_map(|&p| std::iter::repeat_n(0, p).chain(0..(width - p) as i64))
            .collect();
        let mut ids_t = Tensor::from_slice(&flat).view([b, width as i64]);
        let mut pos_t = Tensor::from_slice(&pos).view([b, width as i64]);
        for (step, want_step) in want_logits.iter().enumerate() {
            let seen = cache.len() + ids_t.size()[1];
            let logits = model
                .forward_cached(&ids_t, &pos_t, &key_mask.narrow(1, 0, seen), &mut cache)
                .unwrap()
                .select(1, -1);
            assert_eq!(logits.kind(), Kind::Float);
            let diff = (&logits - want_step).abs().max().double_value(&[]);
            assert!(
                diff < 1e-4,
                "{name} step {step}: max |cached - recomputed| {diff}"
            );
            let toks: Vec<i64> = want.iter().map(|row| row[step]).collect();
            ids_t = Tensor::from_slice(&toks).view([b, 1]);
            let next: Vec<i64> = prompts.iter().map(|p| (p.len() + step) as i64).collect();
            pos_t = Tensor::from_slice(&next).view([b, 1]);
        }
        assert_eq!(cache.len(), (width + steps - 1) as i64);
        // A full cache refuses more tokens.
        let mut full = model.new_cache(b, 1).unwrap();
        let one = Tensor::from_slice(&[PAD, PAD]).view([b, 1]);
        let zero = Tensor::from_slice(&[0i64, 0]).view([b, 1]);
        let keys = Tensor::from_slice(&[true, true]).view([b, 1]);
        let _ = model.forward_cached(&one, &zero, &keys, &mut full).unwrap();
        let keys2 = Tensor::from_slice(&[true; 4]).view([b, 2]);
        assert!(model
            .forward_cached(&one, &zero, &keys2, &mut full)
            .is_err());
    }
}

#[test]
fn padded_rows_give_their_unpadded_logits() {
    let (model, _) = load("llama-gqa");
    let prompt = [298i64, 224, 90, 82];
    let alone = model
        .forward(&Tensor::from_slice(&prompt).view([1, 4]))
        .unwrap();
    let padded_ids = Tensor::from_slice(&[PAD, PAD, 298, 224, 90, 82]).view([1, 6]);
    let mask = Tensor::from_slice(&[0i64, 0, 1, 1, 1, 1]).view([1, 6]);
    let padded = model.forward_masked(&padded_ids, Some(&mask)).unwrap();
    let diff = (padded.narrow(1, 2, 4) - alone)
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff < 1e-4, "max |padded - alone| {diff}");
}

#[test]
fn bad_prompts_and_zero_tokens() {
    let (model, tok) = load("qwen2-tied");
    let opts = options(&tok, 0);
    assert_eq!(
        generate_greedy(&model, &[vec![5], vec![6, 7]], &opts).unwrap(),
        vec![Vec::<i64>::new(), Vec::new()]
    );
    assert!(generate_greedy(&model, &[vec![5], vec![]], &options(&tok, 3)).is_err());
    assert!(generate_greedy(&model, &[vec![5, 320]], &options(&tok, 3)).is_err());
}

#[test]
fn gpt2_rows_stop_where_their_learned_positions_end() {
    let (model, tok) = load("gpt2");
    let opts = GenerateOptions {
        stop_ids: Vec::new(),
        ..options(&tok, 12)
    };
    // 60 prompt tokens under n_positions 64: 5 new tokens (the last one
    // never fed); the short row beside it runs its 12, fed past the end.
    let long = vec![5i64; 60];
    let out = generate_greedy(&model, &[long.clone(), vec![5, 6]], &opts).unwrap();
    assert_eq!((out[0].len(), out[1].len()), (5, 12));
    let alone = generate_greedy(&model, std::slice::from_ref(&long), &opts).unwrap();
    assert_eq!(alone[0], out[0]);
    // Against full recomputation over the first 64 positions.
    let (want, _) = greedy_recomputed(&model, &[long], 5);
    assert_eq!(want[0], out[0]);
    let err = generate_greedy(&model, &[vec![5i64; 65]], &opts).unwrap_err();
    assert!(err.to_string().contains("64 positions"), "{err}");
}
