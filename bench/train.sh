#!/usr/bin/env bash
# Training throughput: tunix-rt against the PyTorch eager reference
# (bench/train_ref.py), same model, batch and optimizer, in one run.
#
#   bench/train.sh [PRESET_ARGS]      e.g. bench/train.sh 2 4 128 256 32 60
#   args: n_layer n_head n_embd context batch steps
#
# Env: TUNIX (binary; default: cargo's debug build), PYTHON (with torch),
# DEVICE (cpu | cuda; default auto). Prints tokens/s of both and the ratio.
set -euo pipefail
L=${1:-2}; H=${2:-4}; E=${3:-128}; C=${4:-256}; B=${5:-32}; S=${6:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
TUNIX=${TUNIX:-${CARGO_TARGET_DIR:-$here/target}/debug/tunix-rt}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-auto}
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/manifests"
cat > "$ws/manifests/bench.yaml" <<YAML
apiVersion: tunix-rt/v1
kind: Train
metadata: { name: bench }
spec:
  model: { preset: gpt-nano, n_layer: $L, n_head: $H, n_embd: $E, context_length: $C }
  dataset: { name: dev-reasoning-v2, train_examples: 20000, val_examples: 50 }
  training:
    learning_rate: 1.0e-3
    per_device_batch_size: $B
    weight_decay: 0.1
    max_steps: $S
    log_interval: $(( S / 6 > 0 ? S / 6 : 1 ))
  device: $DEVICE
YAML
"$TUNIX" --workspace "$ws" run "$ws/manifests/bench.yaml" > /dev/null 2>&1
# Steady state: the median of the logged intervals after the first.
ours=$("$PYTHON" - "$ws/submission_runs/bench/metrics.jsonl" <<'PY'
import json, statistics, sys
rates = [json.loads(l).get("tokens_per_s") for l in open(sys.argv[1])]
rates = [r for r in rates if r][1:]
print(statistics.median(rates))
PY
)
dev=$([ "$DEVICE" = auto ] && echo "" || echo "--device ${DEVICE%%:*}")
ref=$("$PYTHON" "$here/bench/train_ref.py" --n-layer "$L" --n-head "$H" --n-embd "$E" \
  --ctx "$C" --batch "$B" --steps "$(( S / 2 ))" $dev ${REF_FLAGS:-})
"$PYTHON" - "$ours" "$ref" "$L" "$E" "$C" "$B" <<'PY'
import json, sys
ours, ref = float(sys.argv[1]), json.loads(sys.argv[2])
print(f"model        {sys.argv[3]} layers x {sys.argv[4]} wide, context {sys.argv[5]}, batch {sys.argv[6]}, {ref['device']}, {ref['threads']} threads")
print(f"tunix-rt     {ours:,.0f} tokens/s")
print(f"{ref['impl']:<12} {ref['tokens_per_s']:,.0f} tokens/s")
print(f"ratio        {ours / ref['tokens_per_s']:.2f}x (tunix-rt / {ref['impl']})")
PY
