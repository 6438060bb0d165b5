#!/usr/bin/env bash
# On a CUDA machine with PyTorch + transformers and no .NET: runs PyTorch's and our DeepSeek-V3 generator throughput benchmarks
# on the same GPU, one after the other in one command, and writes bench/results/gpu-generate.{json,md} with the ratios
# (PyTorch's own numbers: gpu-generate-pytorch.json next to them); the decode rows' grouped_mm ratios come from rounds that
# interleave ours with a live transformers process. About 5 minutes on an H100/H200.
# usage: bench/gpu-compare-generate.sh BUNDLE.tar.gz [RESULTS_DIR]      (BUNDLE: out/dss-gpu-linux-x64.tar.gz of `make gpu-bundle`)
set -euo pipefail
bundle=$1
results=${2:-bench/results}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$bundle"
export DSS_LIBTORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
mkdir -p "$results"
# transformers with the per-expert loop (eager) for the main ratio, grouped_mm (transformers 5.x's default) as a second reference
python3 "$here/baselines/pytorch_deepseek_throughput.py" --experts eager --also grouped_mm --out "$results/gpu-generate-pytorch.json"
# ours, with transformers' grouped_mm decode as a live peer interleaved round by round (the script's --serve mode)
DSS_PYTHON=$(command -v python3) DSS_BENCH_LIVE_PEER=1 DSS_BENCH_DEVICE=cuda DSS_BENCH_PYTORCH_GEN="$results/gpu-generate-pytorch.json" \
  "$work/gpu/bench/DeepSeek.Search.Benchmarks" --results "$results" gpu-generate
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
