#!/usr/bin/env python3
"""Checks a DeepSeek-V3 model folder written by `dss train-lm` (or any HF DeepseekV3 folder) against Hugging Face transformers.

`dss generate --model MODEL_DIR --prompt "..." --logits LOGITS_FILE` writes the float32 logits [T, V] of the first prompt's
full forward pass (tensor `logits`) and its token ids (tensor `input_ids`, int64 [T]) to a safetensors file. This script
loads MODEL_DIR with transformers 5.x (AutoModelForCausalLM -> DeepseekV3ForCausalLM, float32, eval mode, eager
attention, on the CPU unless --device says otherwise), runs the same input_ids, and prints one JSON object:

  {"model": ..., "class": "DeepseekV3ForCausalLM", "tokens": T, "vocab": V, "max_abs_diff": ..., "tolerance": 1e-4, "ok": true}

It exits 0 when max |logits_dss - logits_hf| <= tolerance, 1 when it is larger, 2 when something does not match up
(shapes, missing tensors, a model class other than DeepseekV3ForCausalLM).

usage: hf_logits_check.py MODEL_DIR LOGITS_FILE [--tolerance 1e-4] [--device cpu]
"""
import argparse
import json
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("logits_file")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    tensors = load_file(args.logits_file)
    for name in ("logits", "input_ids"):
        if name not in tensors:
            print(json.dumps({"error": f"{args.logits_file} has no tensor '{name}'"}))
            return 2
    ours = tensors["logits"].to(torch.float32)
    input_ids = tensors["input_ids"].to(torch.int64).reshape(1, -1)
    if ours.dim() != 2 or ours.shape[0] != input_ids.shape[1]:
        print(json.dumps({"error": f"logits {list(ours.shape)} do not match input_ids {list(input_ids.shape)}"}))
        return 2

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32, attn_implementation="eager")
    cls = type(model).__name__
    if cls != "DeepseekV3ForCausalLM":
        print(json.dumps({"error": f"{args.model_dir} loads as {cls}, expected DeepseekV3ForCausalLM"}))
        return 2
    if hasattr(model, "set_experts_implementation"):  # 5.x: the plain per-expert loop, as the reference numerics
        model.set_experts_implementation("eager")
    model.to(args.device).eval()

    with torch.no_grad():
        theirs = model(input_ids=input_ids.to(args.device), use_cache=False).logits[0].to("cpu", torch.float32)
    if theirs.shape != ours.shape:
        print(json.dumps({"error": f"transformers logits {list(theirs.shape)} differ in shape from {list(ours.shape)}"}))
        return 2

    diff = (theirs - ours).abs()
    max_diff = float(diff.max())
    result = {
        "model": args.model_dir,
        "class": cls,
        "tokens": int(ours.shape[0]),
        "vocab": int(ours.shape[1]),
        "max_abs_diff": max_diff,
        "mean_abs_diff": float(diff.mean()),
        "argmax_agree": float((theirs.argmax(-1) == ours.argmax(-1)).float().mean()),
        "tolerance": args.tolerance,
        "ok": max_diff <= args.tolerance,
    }
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
