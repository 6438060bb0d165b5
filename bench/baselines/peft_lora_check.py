#!/usr/bin/env python3
"""Checks a LoRA adapter written by `dss train-lm --lora-rank` against Hugging Face PEFT (README: LoRA fine-tuning).

On a machine with PyTorch + transformers + peft (the GPU machine; no .NET needed): loads the base folder with transformers'
AutoModelForCausalLM, the adapter folder with peft's PeftModel.from_pretrained, and compares
  1. every lora_A / lora_B tensor PEFT loaded with the file (names and values: the PEFT layout is read as written),
  2. the logits PEFT computes for the prompt ids with the logits `dss generate --adapter DIR --logits FILE` wrote
     (fp32 and bf16 runs of ours, each against PEFT in the same dtype), unmerged and after merge_and_unload(),
on the CPU and, when there is one, on CUDA. Writes a JSON report.

In bf16 it also reports what bounds any two bf16 implementations: PEFT's own bf16 logits against its fp32 ones, the bf16 spacing
(ulp) at the largest logit, and, with --ours-base-*, our base model (no adapter) against transformers in the same dtype, so an
adapter's share of a difference can be told from the base model's.

usage: peft_lora_check.py --base DIR --adapter DIR --ours-fp32 FILE [--ours-bf16 FILE] [--ours-base-fp32 FILE --ours-base-bf16 FILE] [--out FILE]
"""
import argparse
import json
import platform

import torch
from safetensors.torch import load_file


def max_abs(a, b):
    return float((a.float() - b.float()).abs().max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--ours-fp32", required=True, help="dss generate --adapter ... --dtype float32 --logits FILE")
    ap.add_argument("--ours-bf16", help="dss generate --adapter ... --dtype bfloat16 --logits FILE")
    ap.add_argument("--ours-base-fp32", help="dss generate (no adapter) --dtype float32 --logits FILE, same prompt")
    ap.add_argument("--ours-base-bf16", help="dss generate (no adapter) --dtype bfloat16 --logits FILE, same prompt")
    ap.add_argument("--out")
    a = ap.parse_args()

    import peft
    import transformers
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    file_tensors = load_file(f"{a.adapter}/adapter_model.safetensors")
    runs = [("float32", torch.float32, a.ours_fp32)] + ([("bfloat16", torch.bfloat16, a.ours_bf16)] if a.ours_bf16 else [])
    ours_base = {"float32": a.ours_base_fp32, "bfloat16": a.ours_base_bf16}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    report = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__, "python": platform.python_version()},
        "device_names": {d: (torch.cuda.get_device_name(0) if d == "cuda" else platform.processor() or "cpu") for d in devices},
        "adapter_tensors": len(file_tensors),
        "checks": [],
    }
    for device in devices:
        peft_fp32 = None
        for name, dtype, ours_path in runs:
            ours = load_file(ours_path)
            ids = ours["input_ids"].reshape(1, -1).long().to(device)
            base = AutoModelForCausalLM.from_pretrained(a.base, dtype=dtype).to(device).eval()
            with torch.no_grad():
                base_logits = base(ids).logits[0].float().cpu()
            model = PeftModel.from_pretrained(base, a.adapter).to(device).eval()
            # 1. the tensors PEFT loaded are the file's, under the names it expects
            state = {k: v for k, v in model.state_dict().items() if "lora_" in k}
            loaded = {k.replace(".default", ""): v for k, v in state.items()}
            missing = sorted(set(file_tensors) - set(loaded))
            unexpected = sorted(set(loaded) - set(file_tensors))
            tensor_diff = max((max_abs(loaded[k].cpu(), file_tensors[k].to(dtype)) for k in file_tensors if k in loaded), default=float("nan"))
            with torch.no_grad():
                logits = model(ids).logits[0].float().cpu()
                merged = model.merge_and_unload()
                merged_logits = merged(ids).logits[0].float().cpu()
            theirs_vs_ours = max_abs(logits, ours["logits"])
            check = {
                "device": device,
                "dtype": name,
                "tokens": ids.shape[1],
                "missing_in_peft": missing,
                "unexpected_in_peft": unexpected,
                "max_abs_tensor_diff": tensor_diff,
                "max_abs_logit_diff_peft_vs_dss": theirs_vs_ours,
                "max_abs_logit_diff_peft_merged_vs_dss": max_abs(merged_logits, ours["logits"]),
                "max_abs_logit_diff_adapter_vs_base": max_abs(logits, base_logits),
                "max_abs_logit": float(logits.abs().max()),
                "tolerance": 1e-4 if name == "float32" else 1e-3,
            }
            if name == "float32":
                peft_fp32 = logits
            elif peft_fp32 is not None:
                # what bf16 itself costs: PEFT's bf16 logits against its own fp32 ones, and the bf16 spacing at the largest logit
                check["max_abs_logit_diff_peft_bf16_vs_peft_fp32"] = max_abs(logits, peft_fp32)
                check["bf16_ulp_at_max_logit"] = float(torch.finfo(torch.bfloat16).eps * 2 ** torch.floor(torch.log2(logits.abs().max())))
            if ours_base.get(name):
                mine = load_file(ours_base[name])
                check["max_abs_logit_diff_base_transformers_vs_dss"] = max_abs(base_logits, mine["logits"])
            check["max_abs_prob_diff_peft_vs_dss"] = max_abs(logits.softmax(-1), ours["logits"].float().softmax(-1))
            check["within_tolerance"] = not missing and not unexpected and theirs_vs_ours <= check["tolerance"]
            report["checks"].append(check)
            print(json.dumps(check))
            del model, merged, base
            if device == "cuda":
                torch.cuda.empty_cache()
    text = json.dumps(report, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
