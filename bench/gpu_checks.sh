#!/usr/bin/env bash
# The classifier's GPU checks in one go, for a machine with CUDA: train the default recipe on
# the GPU with the real command (which tunes the new version there: `finpulse models tune`),
# run the throughput bench (torch fp32, bf16, fp16; default and large batches) and the whole
# worker against its engine while sampling the GPU's utilisation, split the engine's time into
# tokenizer, network and lexical part, then compare training recipes until a deadline.
#
#   FINPULSE_CONFIG=/path/to/scratch.yaml bash bench/gpu_checks.sh [OUT_DIR]
#
# Use a scratch registry and database in FINPULSE_CONFIG: the trained version becomes its
# champion. PY (default .venv/bin/python), N (texts, default 20000) and DEADLINE (seconds for
# the recipe sweep, default 300) may be set. Results of one run on an H200 are in
# docs/experiments/ and docs/experiments.md ("GPU").
set -euo pipefail
OUT=${1:-gpu-checks}; mkdir -p "$OUT"
PY=${PY:-.venv/bin/python}
N=${N:-20000}
export PYTHONUNBUFFERED=1 FINPULSE_MODEL__DEVICE=cuda
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
start=$(date +%s)
$PY bench/machine.py | tee "$OUT/machine.log"
$PY -m system train 2>&1 | tr '\r' '\n' | grep -v '^training:' | tee "$OUT/train.log"
echo "train wall: $(( $(date +%s) - start )) s"
$PY -m system models tune --no-record 2>&1 | tr '\r' '\n' | grep -v '^tuning ' | tee "$OUT/tune.log"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 500 > "$OUT/gpu-utilisation.csv" &
SAMPLER=$!
$PY bench/classifier_worker.py --n "$N" 2>&1 | grep -v '^20' | tee "$OUT/worker.log"
kill "$SAMPLER" || true
$PY bench/classifier_throughput.py --device cuda --n "$N" --naive-n 2000 \
  --paths torch:fp32,torch:bf16,torch:fp16 2>&1 | tee "$OUT/throughput.log"
FINPULSE_MODEL__MAX_BATCH_SIZE=512 FINPULSE_MODEL__MAX_BATCH_TOKENS=32768 \
  $PY bench/classifier_throughput.py --device cuda --n "$N" --naive-n 500 \
  --paths torch:fp32,torch:bf16 2>&1 | tee -a "$OUT/throughput.log"
$PY - "$N" <<'PYEOF' 2>&1 | tee -a "$OUT/throughput.log"
# Where the engine's time goes: tokenizer, network alone (synchronised), lexical part alone.
import sys, time
import torch
sys.path.insert(0, "bench")
from classifier_throughput import texts_for_bench
from classifier import registry
from finpulse.settings import Settings

settings = Settings.load()
info = registry.resolve(settings)
texts = texts_for_bench(int(sys.argv[1]))
for precision in ("fp32", "bf16", "fp16"):
    engine = registry.load_engine(settings, info, precision=precision, runtime="torch")
    lexical, engine.lexical = engine.lexical, None
    start = time.perf_counter(); encoded = engine.encode(texts); tok = time.perf_counter() - start
    engine.run(engine.encode(texts[:2000]))  # warm-up
    torch.cuda.synchronize(); start = time.perf_counter()
    engine.run(encoded)
    torch.cuda.synchronize(); net = time.perf_counter() - start
    print(f"{precision}: tokenize {len(texts) / tok:.0f}/s, network alone {len(texts) / net:.0f}/s")
if lexical is not None:
    start = time.perf_counter(); lexical.predict_proba(texts)
    print(f"lexical part alone {len(texts) / (time.perf_counter() - start):.0f}/s")
PYEOF
$PY bench/classifier_recipes.py --device cuda --deadline-s "${DEADLINE:-300}" --out "$OUT/recipes.jsonl" \
  --recipes '[{"epochs": 2, "frozen_layers": 3}, {"epochs": 3}, {"epochs": 3, "frozen_layers": 3},
              {"epochs": 3, "label_smoothing": 0.1}, {"epochs": 5, "lr": 2e-4}]' 2>&1 | grep -v '^epoch '
echo "all done: $(( $(date +%s) - start )) s"
