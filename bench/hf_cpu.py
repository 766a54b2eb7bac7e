"""Hugging Face decoder on the CPU: tunix-rt against transformers + peft.

    bench/hf_cpu.py [--bin PATH] [--threads 2] [--reps 3] [--keep DIR]
    (make bench-hf builds the Rust side and runs this)

One run builds a small random Llama with transformers (4 layers x 256 wide,
4 heads over 2 key/value heads, intermediate 688, vocab 8192, f32, untied;
`save_pretrained` into a temporary folder, with a byte-level BPE
tokenizer.json of the same vocabulary trained offline with `tokenizers` on
generated text) and fixed random token ids, then measures, each side in its
own process (so peak RSS is per side and per task):

- LoRA fine-tuning: rank 8, alpha 16, no dropout, on every projection
  (q, k, v, o, gate, up, down); batches [8, 128]; per step forward, mean
  next-token cross-entropy, backward, gradient clipping at 1.0, AdamW
  (betas 0.9/0.95, weight decay 0.01) on the adapters; 3 warm-up steps,
  then REPS timed runs of 10 steps. tunix-rt: the cargo example
  crates/tunix-torch/examples/hf_bench.rs; reference: LlamaForCausalLM (sdpa
  attention) wrapped by peft's get_peft_model, torch.optim.AdamW.
- Greedy decoding: 4 prompts of 32 tokens, exactly 64 new tokens each (no
  EOS: eos_token_id is None, so neither side stops early); one warm-up
  call, then REPS timed calls; tokens/s = 4 x 64 / wall time of the call
  (prefill included). tunix-rt: hf::generate_greedy (preallocated KV
  cache); reference: model.generate(do_sample=False, max_new_tokens=64,
  min_new_tokens=64, use_cache=True). Both sides' tokens are compared.

Both sides use the same number of intra-op threads, set explicitly
(torch.set_num_threads / tch::set_num_threads). ROUNDS times (default 2)
each task runs in a tunix-rt process then a reference process; rates are
medians over all their timed runs, peak RSS (VmHWM) the highest of a side's
processes. Prints a table with each metric's ratio against its goal
(training >= 1.0x, decoding >= 1.5x) and the peak RSS of each process.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

VOCAB = 8192
MODEL = dict(
    vocab_size=VOCAB,
    hidden_size=256,
    intermediate_size=688,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=2048,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    tie_word_embeddings=False,
    bos_token_id=0,
    eos_token_id=None,
    pad_token_id=None,
)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SETTINGS = dict(
    lora=dict(rank=8, alpha=16.0, targets=TARGETS),
    lr=1e-4,
    weight_decay=0.01,
    warmup=3,
    steps=10,
    new_tokens=64,
)
BATCH, SEQ = 8, 128
PROMPTS, PROMPT_LEN = 4, 32


def peak_rss_bytes():
    """VmHWM: this process's own peak (getrusage's ru_maxrss would also
    count the parent it was forked from)."""
    with open("/proc/self/status") as f:
        line = next(l for l in f if l.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def build_model(folder):
    """The random model and its tokenizer, saved as a model folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**MODEL)).to(torch.float32)
    model.save_pretrained(folder, safe_serialization=True)
    # Generated text with enough distinct words for ~8k merges.
    rng = random.Random(0)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ["a", "e", "i", "o", "u", "ai", "ou"]]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(20000)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>").save_pretrained(folder)
    return tok.get_vocab_size()


def write_data(path):
    """Fixed random token ids and the settings both sides read."""
    rng = random.Random(1)
    seqs = [[rng.randrange(1, VOCAB) for _ in range(SEQ + 1)] for _ in range(BATCH)]
    data = dict(SETTINGS)
    data["reps"] = data["decode_reps"] = 0  # set by the caller
    data["inputs"] = [s[:-1] for s in seqs]
    data["targets"] = [s[1:] for s in seqs]
    data["prompts"] = [[rng.randrange(1, VOCAB) for _ in range(PROMPT_LEN)] for _ in range(PROMPTS)]
    return data


def reference_train(folder, data):
    import torch
    import torch.nn.functional as F
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    base = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa")
    lora = data["lora"]
    cfg = LoraConfig(
        r=lora["rank"],
        lora_alpha=lora["alpha"],
        lora_dropout=0.0,
        target_modules=lora["targets"],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, cfg)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=data["lr"], betas=(0.9, 0.95), eps=1e-8, weight_decay=data["weight_decay"])
    inputs = torch.tensor(data["inputs"])
    targets = torch.tensor(data["targets"])

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=inputs).logits
        loss = F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    import time

    for _ in range(data["warmup"]):
        step()
    rates, loss = [], float("nan")
    for _ in range(data["reps"]):
        start = time.perf_counter()
        for _ in range(data["steps"]):
            loss = step()
        rates.append(inputs.numel() * data["steps"] / (time.perf_counter() - start))
    base_bytes = sum(p.numel() * p.element_size() for n, p in model.named_parameters() if "lora_" not in n)
    return dict(
        side="transformers+peft",
        mode="train",
        tokens_per_s=rates,
        final_loss=loss,
        trainable_params=sum(p.numel() for p in params),
        base_weight_bytes=base_bytes,
    )


def reference_decode(folder, data):
    import time

    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").eval()
    prompts = torch.tensor(data["prompts"])
    k = data["new_tokens"]

    def run():
        out = model.generate(
            input_ids=prompts,
            attention_mask=torch.ones_like(prompts),
            do_sample=False,
            max_new_tokens=k,
            min_new_tokens=k,
            use_cache=True,
            pad_token_id=0,
        )
        new = out[:, prompts.shape[1] :]
        assert new.shape[1] == k, new.shape
        return new

    first = run()
    rates = []
    for _ in range(data["decode_reps"]):
        start = time.perf_counter()
        run()
        rates.append(prompts.shape[0] * k / (time.perf_counter() - start))
    return dict(side="transformers", mode="decode", tokens_per_s=rates, first_row=first[0].tolist())


def side_main(mode, folder, data_path, threads):
    """One reference process: `--side train|decode` (run by `main`)."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(threads)
    with open(data_path) as f:
        data = json.load(f)
    out = (reference_train if mode == "train" else reference_decode)(folder, data)
    out["threads"] = torch.get_num_threads()
    out["peak_rss_bytes"] = peak_rss_bytes()
    print(json.dumps(out))


def run_side(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(here, "..", "target")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", default=os.path.join(target, "debug", "examples", "hf_bench"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3, help="timed runs per process")
    p.add_argument("--rounds", type=int, default=2, help="processes per side and task, alternating")
    p.add_argument("--keep", help="build the model folder here and keep it")
    p.add_argument("--json", action="store_true", help="also print every process's raw result")
    p.add_argument("--side", choices=["train", "decode"], help=argparse.SUPPRESS)
    p.add_argument("side_args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.side:
        folder, data_path = a.side_args
        return side_main(a.side, folder, data_path, a.threads)

    work = a.keep or tempfile.mkdtemp(prefix="tunix-hf-bench-")
    try:
        folder = os.path.join(work, "model")
        vocab = build_model(folder)
        data = write_data(folder)
        data["reps"] = data["decode_reps"] = a.reps
        data_path = os.path.join(work, "data.json")
        with open(data_path, "w") as f:
            json.dump(data, f)
        results = {"train": ([], []), "decode": ([], [])}
        # Rounds alternate the sides, so a slow spell on a shared machine
        # does not land on one side only.
        for _ in range(a.rounds):
            for mode in ["train", "decode"]:
                ours = run_side([a.bin, mode, folder, data_path, str(a.threads)])
                ref = run_side(
                    [sys.executable, __file__, "--side", mode, "--threads", str(a.threads), folder, data_path]
                )
                results[mode][0].append(ours)
                results[mode][1].append(ref)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    if a.json:
        for runs in results.values():
            for side in runs:
                for r in side:
                    print(json.dumps(r))
    report({mode: (merge(ours), merge(ref)) for mode, (ours, ref) in results.items()}, a, vocab)


def merge(runs):
    """One side's processes as one: every timed run, the highest peak RSS."""
    out = dict(runs[0])
    out["tokens_per_s"] = [r for run in runs for r in run["tokens_per_s"]]
    out["peak_rss_bytes"] = max(run["peak_rss_bytes"] for run in runs)
    return out


def report(results, a, vocab):
    import peft
    import torch
    import transformers

    m = MODEL
    print(
        f"model: random Llama, {m['num_hidden_layers']} layers x {m['hidden_size']}, "
        f"{m['num_attention_heads']} heads / {m['num_key_value_heads']} kv, intermediate "
        f"{m['intermediate_size']}, vocab {m['vocab_size']} (tokenizer.json: {vocab}), f32; "
        f"{a.threads} threads each side, median of {a.rounds} x {a.reps} runs"
    )
    print(f"reference: torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    print(f"tunix-rt: {a.bin}")
    rows = [
        ("train", f"LoRA training tokens/s ({BATCH}x{SEQ}, r=8, all proj.)", 1.0),
        ("decode", f"greedy decode tokens/s ({PROMPTS}x{PROMPT_LEN} +{SETTINGS['new_tokens']})", 1.5),
    ]
    mib = 1024 * 1024
    print(f"{'metric':<48} {'tunix-rt':>10} {'reference':>10} {'ratio':>7}  goal")
    for mode, label, goal in rows:
        ours, ref = results[mode]
        o, r = statistics.median(ours["tokens_per_s"]), statistics.median(ref["tokens_per_s"])
        verdict = "met" if o / r >= goal else "NOT met"
        print(f"{label:<48} {o:>10,.0f} {r:>10,.0f} {o / r:>6.2f}x  >= {goal:.1f}x: {verdict}")
    for mode in ["train", "decode"]:
        ours, ref = results[mode]
        print(
            f"{'peak RSS, ' + mode + ' process (MiB)':<48} {ours['peak_rss_bytes'] / mib:>10,.0f} "
            f"{ref['peak_rss_bytes'] / mib:>10,.0f} {ours['peak_rss_bytes'] / ref['peak_rss_bytes']:>6.2f}x"
        )
    ours, ref = results["train"]
    print(
        f"base weights held (MiB): tunix-rt {ours['base_weight_bytes'] / mib:.1f}, reference "
        f"{ref['base_weight_bytes'] / mib:.1f}; trainable params {ours['trainable_params']:,} / "
        f"{ref['trainable_params']:,}; loss after the last step {ours['final_loss']:.4f} / {ref['final_loss']:.4f}"
    )
    ours, ref = results["decode"]
    same = "same" if ours["first_row"] == ref["first_row"] else "DIFFERENT"
    print(f"decoded tokens (first prompt): {same} on both sides")


if __name__ == "__main__":
    main()
