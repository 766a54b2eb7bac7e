#!/usr/bin/env python3
"""Fine-tune a Hugging Face causal LM (LoRA/QLoRA with peft, or in full) as a
tunix-rt command trainer. See README.md next to this file.

It speaks tunix-rt's command-trainer protocol (docs/trainers.md): one JSON
line per logged step appended to $TUNIX_METRICS_FILE, checkpoints written as
$TUNIX_CHECKPOINT_DIR/step-NNNNNNNN/ (state.json last, renamed into place),
resume from $TUNIX_RESUME_DIR at $TUNIX_RESUME_STEP, a stop after
$TUNIX_UNTIL_STEP with the learning-rate schedule still running to
$TUNIX_MAX_STEPS, and greedy predictions for every item of $TUNIX_EVALSET
written to $TUNIX_PREDICTIONS_FILE at every stop. Bad arguments or data exit
2, anything else that goes wrong exits 3.

Single process: `python train.py ...`. Several processes: `torchrun
--nproc_per_node N train.py ...` (DDP; every rank trains on its own shard
of each batch, rank 0 alone writes metrics, checkpoints and predictions).
"""

import argparse, contextlib, functools, json, math, os, shutil, sys, time, traceback

import torch
import torch.distributed as dist

ENV = os.environ


def fail(message):
    """A bad argument, model folder or data file: the protocol's exit 2."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def opt(cast, default):
    """An argparse type for template values: an empty string (an unset
    optional `training` key renders as "") means the default."""
    def parse(s):
        return default if s.strip() == "" else cast(s)
    parse.__name__ = cast.__name__  # argparse's message: "invalid float value: 'abc'"
    return parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="base model folder (config.json, weights, tokenizer)")
    p.add_argument("--data", required=True, help='training JSONL: {"prompt","completion"} or {"messages": [...]}')
    p.add_argument("--lora-r", type=opt(int, 16), default=16, help="LoRA rank; 0 = full fine-tuning")
    p.add_argument("--lora-alpha", type=opt(float, 32.0), default=32.0)
    p.add_argument("--lora-dropout", type=opt(float, 0.05), default=0.05)
    p.add_argument("--target-modules", default="all-linear", help="comma-separated module names, or all-linear")
    p.add_argument("--load-in-4bit", action="store_true", help="QLoRA: 4-bit NF4 base weights (bitsandbytes, CUDA)")
    p.add_argument("--lr", type=opt(float, 2e-4), default=2e-4)
    p.add_argument("--batch-size", type=opt(int, 8), default=8, help="sequences per micro-batch per process")
    p.add_argument("--grad-accum", type=opt(int, 1), default=1, help="micro-batches per optimizer step")
    p.add_argument("--max-steps", type=opt(int, None), default=None, help="default $TUNIX_MAX_STEPS")
    p.add_argument("--warmup-steps", type=opt(int, 0), default=0)
    p.add_argument("--weight-decay", type=opt(float, 0.0), default=0.0)
    p.add_argument("--grad-clip", type=opt(float, 1.0), default=1.0)
    p.add_argument("--seed", type=opt(int, None), default=None, help="default $TUNIX_SEED, else 0")
    p.add_argument("--max-len", type=opt(int, 1024), default=1024, help="tokens per example (prompt + completion)")
    p.add_argument("--prompt-template", default="{prompt}", help="framing without a chat template; {prompt} is replaced")
    p.add_argument("--chat-template", choices=["auto", "on", "off"], default="auto",
                   help="frame prompts with the tokenizer's chat template (auto: when it has one)")
    p.add_argument("--checkpoint-interval", type=opt(int, 0), default=0, help="also checkpoint every N steps")
    p.add_argument("--log-interval", type=opt(int, 1), default=1)
    p.add_argument("--max-new-tokens", type=opt(int, 64), default=64)
    p.add_argument("--eval-batch-size", type=opt(int, 16), default=16)
    p.add_argument("--dtype", choices=["auto", "float32", "bfloat16"], default="auto",
                   help="weights' dtype (auto: bfloat16 on a GPU that has it, else float32)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    a = p.parse_args()
    a.max_steps = a.max_steps or int(ENV.get("TUNIX_MAX_STEPS") or 0) or fail("--max-steps or $TUNIX_MAX_STEPS")
    a.seed = a.seed if a.seed is not None else int(ENV.get("TUNIX_SEED") or 0)
    for name in ("batch_size", "grad_accum", "max_len", "max_new_tokens", "eval_batch_size", "log_interval"):
        if getattr(a, name) < 1:
            fail(f"--{name.replace('_', '-')} must be at least 1")
    if a.lora_r < 0 or a.lr <= 0:
        fail("--lora-r must be >= 0 and --lr > 0")
    if not os.path.isfile(os.path.join(a.model, "config.json")):
        fail(f"--model {a.model}: no config.json there (a folder saved by save_pretrained)")
    if "{prompt}" not in a.prompt_template:
        fail("--prompt-template must contain {prompt}")
    return a


class Framing:
    """Prompts and completions as token ids: the chat template (one user
    turn, generation prompt added) when the tokenizer has one and it is not
    turned off, otherwise --prompt-template; a completion ends with EOS (the
    chat template's end-of-turn token when it has one)."""

    def __init__(self, tok, args):
        has = bool(getattr(tok, "chat_template", None))
        if args.chat_template == "on" and not has:
            fail(f"--chat-template on, but {args.model}'s tokenizer has no chat template")
        self.tok, self.chat, self.template = tok, has and args.chat_template != "off", args.prompt_template
        self.end = tok.eos_token or ""

    def prompt_text(self, row):
        if "messages" in row:
            turns = row["messages"][:-1]
            if self.chat:
                return self.tok.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
            return "\n".join(t["content"] for t in turns if t["role"] == "user")
        if self.chat:
            msgs = [{"role": "user", "content": row["prompt"]}]
            return self.tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        return self.template.replace("{prompt}", row["prompt"])

    def prompt_ids(self, row):
        # A chat template writes its own BOS; a plain template gets the tokenizer's.
        return self.tok(self.prompt_text(row), add_special_tokens=not self.chat)["input_ids"]

    def example(self, row, max_len):
        completion = row["messages"][-1]["content"] if "messages" in row else row["completion"]
        p = self.prompt_ids(row)
        c = self.tok(completion + self.end, add_special_tokens=False)["input_ids"]
        ids = (p + c)[:max_len]
        labels = ([-100] * len(p) + c)[:max_len]  # loss on the completion only
        return ids, labels


def read_data(path, framing, max_len):
    """Every training example as (input ids, labels); bad lines exit 2 at file:line.
    Lines whose `split` is not "train" (as `tunix-rt data --out` writes) are skipped."""
    if not os.path.isfile(path):
        fail(f"--data {path}: no such file")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                fail(f"{path}:{n}: not JSON ({e})")
            if row.get("split", "train") != "train":
                continue
            msgs = row.get("messages")
            if msgs is not None:
                ok = isinstance(msgs, list) and len(msgs) >= 2 and all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) for m in msgs)
                if not ok or msgs[-1].get("role") != "assistant":
                    fail(f"{path}:{n}: `messages` must be role/content turns ending with an assistant turn")
            elif not (isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str)):
                fail(f'{path}:{n}: want {{"prompt": str, "completion": str}} or {{"messages": [...]}}')
            ids, labels = framing.example(row, max_len)
            if any(l != -100 for l in labels[1:]):
                out.append((ids, labels))
    if not out:
        fail(f"{path}: no training example with completion tokens within --max-len")
    return out


def micro_batch(data, seed, index, batch_size, rank, world):
    """Micro-batch `index` of this rank: the stream of epoch-wise seeded
    permutations, cut into global batches of batch_size * world and sharded
    by rank (what DistributedSampler does). A pure function of (seed, index),
    so a resumed run sees exactly the batches it would have seen."""
    start = (index * world + rank) * batch_size
    return [data[permutation(seed, pos // len(data), len(data))[pos % len(data)]]
            for pos in range(start, start + batch_size)]


@functools.lru_cache(maxsize=4)
def permutation(seed, epoch, n):
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100003 + epoch)).tolist()


def collate(rows, pad_id, device):
    width = max(len(ids) for ids, _ in rows)
    ids = torch.tensor([r + [pad_id] * (width - len(r)) for r, _ in rows], device=device)
    labels = torch.tensor([l + [-100] * (width - len(l)) for _, l in rows], device=device)
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in rows], device=device)
    return ids, labels, mask


def lr_at(step, args):
    """Linear warmup, then cosine decay to 10% of the peak at max_steps."""
    if step <= args.warmup_steps:
        return args.lr * step / max(1, args.warmup_steps)
    t = (step - args.warmup_steps) / max(1, args.max_steps - args.warmup_steps)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def build_model(args, device, resume_dir):
    from transformers import AutoModelForCausalLM
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}.get(args.dtype)
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    kw = {"dtype": dtype}
    if args.load_in_4bit:
        if args.lora_r == 0 or device.type != "cuda":
            fail("--load-in-4bit needs LoRA (--lora-r > 0) and a CUDA device")
        from transformers import BitsAndBytesConfig
        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype, bnb_4bit_use_double_quant=True)
        kw["device_map"] = {"": device.index}
    # Full fine-tuning resumes from the checkpoint's own weights.
    source = resume_dir if (resume_dir and args.lora_r == 0) else args.model
    model = AutoModelForCausalLM.from_pretrained(source, **kw)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if args.lora_r > 0:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training, set_peft_model_state_dict
        if args.load_in_4bit:
            model = prepare_model_for_kbit_training(model, args.gradient_checkpointing)
        targets = args.target_modules
        targets = targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()]
        config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                            target_modules=targets, task_type="CAUSAL_LM")
        try:
            model = get_peft_model(model, config)
        except ValueError as e:  # e.g. a target module the model lacks
            fail(f"LoRA: {e}")
        if resume_dir:
            from safetensors.torch import load_file
            set_peft_model_state_dict(model, load_file(os.path.join(resume_dir, "adapter_model.safetensors")))
    return model.to(device) if not args.load_in_4bit else model


def save_checkpoint(model, tok, opt, step, loss, args):
    """step-NNNNNNNN/: the PEFT adapter (or the full model), the tokenizer,
    optimizer.pt, then state.json last; renamed into place whole."""
    final = os.path.join(ENV["TUNIX_CHECKPOINT_DIR"], "step-%08d" % step)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)  # left by a killed attempt
    os.makedirs(tmp)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    torch.save(opt.state_dict(), os.path.join(tmp, "optimizer.pt"))
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump({"step": step, "loss": loss, "base_model": os.path.abspath(args.model), "lora_r": args.lora_r}, f)
    if os.path.exists(final):  # written by an attempt killed after it: keep that one
        shutil.rmtree(tmp)
    else:
        os.rename(tmp, final)


@torch.no_grad()
def predict(model, tok, framing, args, device, rank, world):
    """Greedy continuations of every eval item (this rank's share, batched
    with left padding), gathered on rank 0 in the eval set's order."""
    with open(ENV["TUNIX_EVALSET"], encoding="utf-8") as f:
        items = [json.loads(l) for l in f if l.strip()]
    mine = list(range(rank, len(items), world))
    tok.padding_side = "left"
    configured = getattr(model.generation_config, "eos_token_id", None)
    configured = [configured] if isinstance(configured, int) else list(configured or [])
    eos = sorted({e for e in configured + [tok.eos_token_id] if e is not None})
    model.eval()
    outputs = {}
    for at in range(0, len(mine), args.eval_batch_size):
        chunk = mine[at:at + args.eval_batch_size]
        texts = [framing.prompt_text(items[i]) for i in chunk]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=not framing.chat).to(device)
        out = model.generate(**enc, do_sample=False, max_new_tokens=args.max_new_tokens,
                             eos_token_id=eos, pad_token_id=tok.pad_token_id)
        for i, row in zip(chunk, out[:, enc["input_ids"].shape[1]:]):
            outputs[i] = tok.decode(row, skip_special_tokens=True).strip()
    model.train()
    if world > 1:
        parts = [None] * world
        dist.all_gather_object(parts, outputs)
        outputs = {k: v for part in parts for k, v in part.items()}
    if rank == 0:
        tmp = ENV["TUNIX_PREDICTIONS_FILE"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for i, item in enumerate(items):
                f.write(json.dumps({"id": item["id"], "output": outputs[i]}, ensure_ascii=False) + "\n")
        os.replace(tmp, ENV["TUNIX_PREDICTIONS_FILE"])


def main():
    args = parse_args()
    world, rank = int(ENV.get("WORLD_SIZE", "1")), int(ENV.get("RANK", "0"))
    if world > 1:
        local = int(ENV.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local) if torch.cuda.is_available() else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    else:
        device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    resume_step = int(ENV.get("TUNIX_RESUME_STEP") or 0)
    resume_dir = ENV.get("TUNIX_RESUME_DIR") if resume_step else None
    until = min(int(ENV.get("TUNIX_UNTIL_STEP") or args.max_steps), args.max_steps)
    torch.manual_seed(args.seed)  # the LoRA initialisation

    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    framing = Framing(tok, args)
    data = read_data(args.data, framing, args.max_len)
    model = build_model(args, device, resume_dir)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    if resume_dir:
        opt.load_state_dict(torch.load(os.path.join(resume_dir, "optimizer.pt"), map_location=device))
    core = model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if rank == 0:
        n_train = sum(p.numel() for p in params)
        print(f"hf_peft: {len(data)} examples, {n_train} trainable parameters, world {world}, device {device}, "
              f"steps {resume_step + 1}..{until} of {args.max_steps}, chat template {framing.chat}", flush=True)
    metrics = open(ENV["TUNIX_METRICS_FILE"], "a") if rank == 0 else None
    model.train()
    loss_value = None
    for step in range(resume_step + 1, until + 1):
        started = time.perf_counter()
        torch.manual_seed(args.seed * 100003 + step * world + rank)  # dropout: a function of (seed, step, rank)
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        batches = [collate(micro_batch(data, args.seed, (step - 1) * args.grad_accum + a, args.batch_size, rank, world),
                           tok.pad_token_id, device) for a in range(args.grad_accum)]
        targets = sum(int((labels[:, 1:] != -100).sum()) for _, labels, _ in batches)
        loss_sum = torch.zeros((), device=device)
        for a, (ids, labels, mask) in enumerate(batches):
            sync = a == args.grad_accum - 1 or world == 1
            ctx = model.no_sync() if not sync else contextlib.nullcontext()
            with ctx:
                logits = model(input_ids=ids, attention_mask=mask).logits.float()
                ce = torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                    ignore_index=-100, reduction="sum")
                (ce / max(1, targets)).backward()  # a mean over this step's completion tokens
            loss_sum += ce.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, args.grad_clip if args.grad_clip > 0 else float("inf"))
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens = sum(int(mask.sum()) for _, _, mask in batches)
        stats = torch.tensor([loss_sum.item(), float(targets), float(tokens)], device=device)
        if world > 1:
            dist.all_reduce(stats)
        loss_value = stats[0].item() / max(1.0, stats[1].item())
        if not math.isfinite(loss_value):
            print(f"step {step}: loss is {loss_value}", file=sys.stderr, flush=True)
        if rank == 0 and (step % args.log_interval == 0 or step == until):
            record = {"step": step, "loss": loss_value, "lr": lr, "grad_norm": float(grad_norm),
                      "tokens_per_s": stats[2].item() / (time.perf_counter() - started),
                      "epoch": step * args.batch_size * args.grad_accum * world / len(data)}
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()  # the metric line goes before its checkpoint
        if rank == 0 and (step == until or (args.checkpoint_interval and step % args.checkpoint_interval == 0)):
            save_checkpoint(core, tok, opt, step, loss_value, args)
        if world > 1:
            dist.barrier()
    if rank == 0:
        print(f"hf_peft: trained to step {until}" + (f", loss {loss_value:.4f}" if loss_value is not None else ""), flush=True)
    if ENV.get("TUNIX_EVALSET") and ENV.get("TUNIX_PREDICTIONS_FILE"):
        predict(core, tok, framing, args, device, rank, world)
        if rank == 0:
            print(f"hf_peft: wrote predictions to {ENV['TUNIX_PREDICTIONS_FILE']}", flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:  # a runtime failure: the traceback goes to run.log
        traceback.print_exc()
        sys.exit(3)
