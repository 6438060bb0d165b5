#!/usr/bin/env bash
# On a CUDA machine with PyTorch + transformers and no .NET: runs PyTorch's and our throughput benchmarks on the same GPU,
# one after the other in one command, and writes bench/results/gpu.{json,md} with the ratios.
# usage: bench/gpu-compare.sh BUNDLE.tar.gz [RESULTS_DIR]
set -euo pipefail
bundle=$1
results=${2:-bench/results}
work=$(mktemp -d)
tar -C "$work" -xzf "$bundle"
export DSS_LIBTORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
mkdir -p "$results"
python3 "$(dirname "$0")/baselines/pytorch_bert_throughput.py" --out "$results/gpu-pytorch.json"
DSS_BENCH_DEVICE=cuda DSS_BENCH_PYTORCH="$results/gpu-pytorch.json" "$work/gpu/bench/DeepSeek.Search.Benchmarks" --results "$results" gpu
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
