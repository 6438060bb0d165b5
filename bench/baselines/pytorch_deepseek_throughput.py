#!/usr/bin/env python3
"""PyTorch + transformers side of the generator GPU throughput comparison (issue 4, deliverable 6).

A randomly initialised (seeded) transformers DeepseekV3ForCausalLM in bf16 on the current CUDA device, the shape of
../shared/anchors/README.md: hidden 2048, 8 layers (first_k_dense_replace 1), 16 heads, 64 routed experts top-6 + 2 shared,
MoE FFN 1408, dense FFN 10944, kv_lora 512, q_lora 1536, qk_nope 128 / qk_rope 64 / v 128, vocab 102400, n_group 1,
topk_group 1, max_position_embeddings 4096, default RoPE (theta 10000, no scaling), routed_scaling_factor 2.5,
norm_topk_prob true. bench/DeepSeek.Search.Benchmarks/GeneratorGpuBench.cs builds the same config for our model.

Measures (medians of timed runs after warm-up, each ending with torch.cuda.synchronize()):
  prefill_bB_tok_per_s: one forward over [B, 512] random tokens with use_cache=True (a fresh cache each run) and
                        logits_to_keep=1 (logits of the last position only), B = 1 and 16; tokens/s = B*512/time;
  decode_bB_tok_per_s:  a [B, 128] prompt prefill (untimed), then 64 single-token greedy steps with the KV cache
                        (argmax on the device, fed back; only the 64 steps are timed); tokens/s = B*64/time.
The experts implementation is --experts (default eager, transformers' per-expert loop); --also adds more implementations
(e.g. grouped_mm), measured on the same model and written under their own key. Prints one JSON object; --out writes it.

With --serve it is instead a live peer for the C# bench (bench/DeepSeek.Search.Benchmarks/PythonPeer.cs): it builds the
model once with --experts, prints one JSON line describing itself, then answers one JSON line per request line:
{"op": "decode", "batch": B} -> {"seconds": s} (one decode as above, its first call per batch preceded by an untimed
warm-up), so the bench can interleave transformers' decode with its own, round by round.

usage: pytorch_deepseek_throughput.py [--experts eager] [--also grouped_mm] [--out FILE] [--quick] [--serve]
"""
import argparse
import json
import platform
import statistics
import sys
import time
import traceback

import torch
import transformers

PROMPT_PREFILL, PROMPT_DECODE, DECODE_STEPS = 512, 128, 64

CONFIG = dict(
    vocab_size=102400, hidden_size=2048, intermediate_size=10944, moe_intermediate_size=1408,
    num_hidden_layers=8, num_attention_heads=16, num_key_value_heads=16,
    n_shared_experts=2, n_routed_experts=64, num_experts_per_tok=6, first_k_dense_replace=1,
    routed_scaling_factor=2.5, norm_topk_prob=True, n_group=1, topk_group=1,
    kv_lora_rank=512, q_lora_rank=1536, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
    max_position_embeddings=4096, rms_norm_eps=1e-6, hidden_act="silu", initializer_range=0.02,
    tie_word_embeddings=False, attention_bias=False, rope_interleave=True, bos_token_id=0, eos_token_id=1,
)
# a tiny shape for --quick (checks the script runs; never a measurement)
QUICK = dict(CONFIG, vocab_size=1024, hidden_size=64, intermediate_size=128, moe_intermediate_size=32, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=4, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1,
             kv_lora_rank=32, q_lora_rank=48, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16)


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeats, warmup):
    """Median seconds of fn() over `repeats` timed runs after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t0)
    return statistics.median(out), out


def make_config(shape, used):
    from transformers import DeepseekV3Config
    # transformers 5.x: rope_parameters; 4.x: rope_theta + rope_scaling=None (both mean default RoPE, theta 10000)
    try:
        cfg = DeepseekV3Config(**shape, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
        used["rope"] = "rope_parameters={rope_type: default, rope_theta: 10000}"
    except TypeError:
        cfg = DeepseekV3Config(**shape, rope_theta=10000.0, rope_scaling=None)
        used["rope"] = "rope_theta=10000, rope_scaling=None"
    return cfg


def make_model(cfg, device, seed, used):
    from transformers import DeepseekV3ForCausalLM
    torch.manual_seed(seed)
    model = None
    with torch.device(device):
        for kw in ("dtype", "torch_dtype"):
            try:
                model = DeepseekV3ForCausalLM._from_config(cfg, **{kw: torch.bfloat16})
                used["construct"] = f"_from_config({kw}=bfloat16) under torch.device({device!r})"
                break
            except TypeError:
                continue
        if model is None:
            model = DeepseekV3ForCausalLM(cfg).to(torch.bfloat16)
            used["construct"] = "DeepseekV3ForCausalLM(cfg).to(bfloat16)"
    model = model.to(device).eval()
    # our own seeded init, whatever transformers did: normal(0, initializer_range) for matrices (linear, embedding,
    # router, fused experts), 1 for norm weights, 0 for vectors (biases, e_score_correction_bias)
    g = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif p.dim() >= 2:
                p.normal_(0.0, cfg.initializer_range, generator=g)
            else:
                p.zero_()
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.zero_()
    used["init"] = f"normal(0, {cfg.initializer_range}) matrices, norms 1, vectors 0 (torch.Generator seed {seed} on {device})"
    return model


def forward(model, ids, cache, keep_last, used):
    kwargs = dict(input_ids=ids, use_cache=True)
    if cache is not None:
        kwargs["past_key_values"] = cache
    if keep_last and used.get("logits_to_keep", True):
        try:
            return model(**kwargs, logits_to_keep=1)
        except TypeError:
            used["logits_to_keep"] = False  # older transformers: logits of every position
    return model(**kwargs)


def decode_seconds(model, prompt, steps, used):
    """Seconds of `steps` greedy single-token steps after an untimed prefill of `prompt` (the KV cache kept)."""
    with torch.no_grad():
        out = forward(model, prompt, None, True, used)
        cache = out.past_key_values
        nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            out = forward(model, nxt, cache, True, used)
            cache = out.past_key_values
            nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
        sync()
        return time.perf_counter() - t0


def serve(model, vocab, device, seed, quick, used, hello):
    """The live-peer loop of --serve (see the module docstring)."""
    print(json.dumps(hello, default=str), flush=True)
    gen = torch.Generator(device=device).manual_seed(seed + 2)
    decode_len, steps = (16, 8) if quick else (PROMPT_DECODE, DECODE_STEPS)
    prompts = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("op") != "decode":
                raise ValueError(f"unknown op {req.get('op')!r}")
            b = int(req["batch"])
            if b not in prompts:
                prompts[b] = torch.randint(1000 % vocab, vocab - 1, (b, decode_len), device=device, generator=gen)
                decode_seconds(model, prompts[b], steps, used)  # warm-up
            reply = {"seconds": decode_seconds(model, prompts[b], steps, used), "tokens": b * steps}
        except Exception as e:  # the bench reports it and goes on without the peer
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def measure(model, vocab, device, seed, quick, used):
    res = {}
    gen = torch.Generator(device=device).manual_seed(seed + 1)
    prefill_len, decode_len, steps = (32, 16, 8) if quick else (PROMPT_PREFILL, PROMPT_DECODE, DECODE_STEPS)
    for b in (1, 16):
        ids = torch.randint(1000 % vocab, vocab - 1, (b, prefill_len), device=device, generator=gen)

        def prefill():
            with torch.no_grad():
                out = forward(model, ids, None, True, used)
            return out

        out = prefill()
        res[f"prefill_b{b}_logits_finite"] = bool(torch.isfinite(out.logits).all().item())
        s, runs = timed(prefill, 1 if quick else 5, 1)
        res[f"prefill_b{b}_tok_per_s"] = b * prefill_len / s
        res[f"prefill_b{b}_runs_s"] = runs

        prompt = ids[:, :decode_len].contiguous()

        def decode():
            return decode_seconds(model, prompt, steps, used)

        decode()  # warm-up
        runs = [decode() for _ in range(1 if quick else 3)]
        res[f"decode_b{b}_tok_per_s"] = b * steps / statistics.median(runs)
        res[f"decode_b{b}_runs_s"] = runs
        del ids, prompt
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
    if torch.cuda.is_available():
        res["max_memory_allocated_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return res


def set_experts(model, name, used):
    """model.set_experts_implementation(name) where transformers has it; returns what the config says afterwards."""
    if hasattr(model, "set_experts_implementation"):
        try:
            model.set_experts_implementation(name)
        except Exception as e:  # unknown or unavailable implementation
            return None, f"set_experts_implementation({name!r}) failed: {type(e).__name__}: {e}"
        return getattr(model.config, "_experts_implementation", name), None
    if name == "eager":
        return "eager (no set_experts_implementation in this transformers)", None
    return None, "this transformers has no set_experts_implementation"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experts", default="eager", help="experts implementation of the main measurement (eager, grouped_mm, batched_mm, ...)")
    ap.add_argument("--also", default="", help="comma-separated further experts implementations, each under its own JSON key")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny shape, 1 run: checks that the script works (CPU allowed)")
    ap.add_argument("--out")
    ap.add_argument("--serve", action="store_true", help="answer decode requests on stdin, one JSON line each (a live peer)")
    a = ap.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not a.quick:
        sys.exit("no CUDA device (use --quick for a CPU check of the script)")
    used = {}
    res = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "quick": a.quick,
        "shape": {"prefill_tokens": PROMPT_PREFILL, "decode_prompt_tokens": PROMPT_DECODE, "decode_steps": DECODE_STEPS,
                  "batches": [1, 16], "dtype": "bfloat16", "prefill_repeats": "1 warm-up + 5 timed (median)",
                  "decode_repeats": "1 warm-up + 3 timed (median)"},
        "used": used,
    }
    shape = QUICK if a.quick else CONFIG
    cfg = make_config(shape, used)
    res["config"] = {k: getattr(cfg, k, None) for k in list(shape) + ["rope_parameters", "rope_theta", "rope_scaling"]}
    model = make_model(cfg, device, a.seed, used)
    res["params_M"] = sum(p.numel() for p in model.parameters()) / 1e6
    used["attn_implementation"] = getattr(model.config, "_attn_implementation", None)

    impl, err = set_experts(model, a.experts, used)
    res["experts_implementation"] = impl
    if err:
        res["experts_error"] = err
        print(err, file=sys.stderr)
    print(f"{res['device']}: torch {res['torch']}, transformers {res['transformers']}, {res['params_M']:.0f}M parameters, "
          f"experts {impl}, attention {used['attn_implementation']}", file=sys.stderr, flush=True)
    if a.serve:
        if err:
            sys.exit(err)
        serve(model, cfg.vocab_size, device, a.seed, a.quick, used, res)
        return
    res.update(measure(model, cfg.vocab_size, device, a.seed, a.quick, used))

    for extra in [x.strip() for x in a.also.split(",") if x.strip()]:
        entry = {}
        try:
            impl, err = set_experts(model, extra, used)
            if err:
                entry["error"] = err
            else:
                entry["experts_implementation"] = impl
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                entry.update(measure(model, cfg.vocab_size, device, a.seed, a.quick, used))
        except Exception as e:  # e.g. out of memory: keep the main result
            entry["error"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
            if device == "cuda":
                torch.cuda.empty_cache()
        res[extra] = entry

    text = json.dumps(res, indent=1, default=str)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
