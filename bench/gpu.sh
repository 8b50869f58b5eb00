#!/usr/bin/env bash
# One prepared GPU run of `rmeval bench` (under 5 minutes on one H100): the Qwen3-0.6B and
# Qwen3-1.7B shapes in bfloat16, random weights built on the device, no datasets/lm_eval needed.
# Usage: bench/gpu.sh [--output-dir DIR] [--repeats N] [--presets qwen3-0.6b,qwen3-1.7b]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader || true
exec python bench/gpu_bench.py "$@"
