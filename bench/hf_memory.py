#!/usr/bin/env python3
"""Peak memory of a LoRA step over a 0.5B-shaped model with a bf16 base.

Usage: bench/hf_memory.py --bin HF_BENCH [--threads 2] [--keep DIR]

Builds a random Qwen2 with Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14
heads over 2 key/value heads, intermediate 4864, vocab 151,936, tied
embeddings; 494M parameters) in bf16 with transformers (`save_pretrained`,
about 1 GB), then runs the tunix-torch example `hf_bench train` on it with
the base held in bf16, as the trainer holds it on CUDA: LoRA rank 8 on
q_proj and v_proj, one AdamW step on a [1, 64] batch. Prints the base's
bytes, the process's peak resident memory (VmHWM) and their ratio. A base
held once in bf16 peaks near 1x its bytes plus libtorch and activations; an
f32 copy of it would need at least 3x (the bf16 bytes and twice them).
Issue 23's memory goal: "a LoRA run of a 0.5B-shaped model holds the frozen
base once (no f32 copy of bf16 weights); report the peak".
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def build(folder):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        torch_dtype="bfloat16",
    )
    torch.manual_seed(0)
    with torch.device("cpu"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the hf_bench example")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--keep", help="build the model folder here and keep it")
    a = p.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="tunix-hf-memory-")
    model_dir = os.path.join(work, "model")
    try:
        if not os.path.exists(os.path.join(model_dir, "config.json")):
            params = build(model_dir)
        else:
            params = None
        ids = [[(i * 7919) % 151936 for i in range(65)]]
        data = {
            "inputs": [ids[0][:64]],
            "targets": [ids[0][1:65]],
            "prompts": [ids[0][:8]],
            "lora": {"rank": 8, "alpha": 16.0, "targets": ["q_proj", "v_proj"]},
            "lr": 1e-4,
            "weight_decay": 0.0,
            "warmup": 0,
            "steps": 1,
            "reps": 1,
            "new_tokens": 1,
            "decode_reps": 1,
            "base_dtype": "bf16",
        }
        path = os.path.join(work, "data.json")
        with open(path, "w") as f:
            json.dump(data, f)
        out = subprocess.run(
            [a.bin, "train", model_dir, path, str(a.threads)],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(f"hf_bench exited {out.returncode}:\n{out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        base, peak = r["base_weight_bytes"], r["peak_rss_bytes"]
        mib = 1 << 20
        if params:
            print(f"model: random Qwen2, 0.5B shape ({params:,} parameters), saved in bf16")
        print(f"base weights held: {base / mib:,.0f} MiB ({r['base_dtype']})")
        print(f"LoRA trainable parameters: {r['trainable_params']:,}")
        print(f"peak resident memory of the LoRA step: {peak / mib:,.0f} MiB ({peak / base:.2f}x the base)")
        print(f"an f32 copy of the base would add {2 * base / mib:,.0f} MiB (peak >= {3 * base / mib:,.0f} MiB)")
        print(f"loss after the step: {r['final_loss']:.4f}")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
