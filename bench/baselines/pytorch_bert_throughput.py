#!/usr/bin/env python3
"""PyTorch + transformers side of the GPU throughput comparison (issue: dual-encoder training on the GPU).

Measures, on the current CUDA device, for a randomly initialised BERT of the given shape:
  encode: sequences/s of a bf16 forward pass + mean pooling (SDPA attention), batch x length;
  train:  pairs/s of InfoNCE training steps (in-batch negatives, temperature 0.05, AdamW, bf16 autocast),
          batch B, query length Lq, document length Ld, shared towers.
Prints one JSON object. Timings are medians over repeated timed runs after warm-up (CUDA-synchronised).

usage: pytorch_bert_throughput.py [--layers 6 --hidden 384 --heads 12 --ffn 1536] [--out FILE]
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel


def timed(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def mean_pool(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=1536)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--qlen", type=int, default=32)
    ap.add_argument("--dlen", type=int, default=128)
    ap.add_argument("--out")
    a = ap.parse_args()
    dev = "cuda"
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                     intermediate_size=a.ffn, attn_implementation="sdpa")
    res = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "shape": vars(a)}

    model = BertModel(cfg, add_pooling_layer=False).to(dev)
    # encode, bf16 weights, as sentence-transformers users run it
    enc = BertModel(cfg, add_pooling_layer=False).to(dev, torch.bfloat16).eval()
    for b, l in [(512, 128), (256, 256)]:
        ids = torch.randint(1000, 30000, (b, l), device=dev)
        mask = torch.ones_like(ids)
        def step():
            with torch.no_grad():
                mean_pool(enc(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        s = timed(step, 20, 5)
        res[f"encode_{b}x{l}_seq_per_s"] = b / s

    # diagnostics (the same keys as our suite's "diag:" rows)
    ids = torch.randint(1000, 30000, (512, 128), device=dev)
    mask = torch.ones_like(ids)
    issue = []
    for i in range(25):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.no_grad():
            mean_pool(enc(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        if i >= 5:
            issue.append((time.perf_counter() - t0) * 1e3)
        torch.cuda.synchronize()
    res["encode_512x128_issue_ms"] = statistics.median(issue)
    def nomask():
        with torch.no_grad():
            enc(input_ids=ids).last_hidden_state.mean(1)
    res["encode_512x128_nomask_seq_per_s"] = 512 / timed(nomask, 20, 5)
    big = torch.randint(1000, 30000, (2048, 128), device=dev)
    bigm = torch.ones_like(big)
    def bigstep():
        with torch.no_grad():
            mean_pool(enc(input_ids=big, attention_mask=bigm).last_hidden_state, bigm)
    res["encode_2048x128_seq_per_s"] = 2048 / timed(bigstep, 20, 5)
    tiny = torch.zeros(1, device=dev)
    def tiny_ops():
        for _ in range(2000):
            tiny.add_(1.0)
    res["tiny_op_us"] = timed(tiny_ops, 5, 1) / 2000 * 1e6
    try:
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                with torch.no_grad():
                    mean_pool(enc(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
            torch.cuda.synchronize()
        res["encode_512x128_kernels"] = prof.key_averages().table(sort_by="cuda_time_total", row_limit=15)
    except Exception as e:  # the profiler is a diagnostic extra
        res["encode_512x128_kernels"] = f"profiler failed: {e}"

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    q = torch.randint(1000, 30000, (a.batch, a.qlen), device=dev)
    d = torch.randint(1000, 30000, (a.batch, a.dlen), device=dev)
    qm, dm = torch.ones_like(q), torch.ones_like(d)
    labels = torch.arange(a.batch, device=dev)
    def train_step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            qe = F.normalize(mean_pool(model(input_ids=q, attention_mask=qm).last_hidden_state, qm), dim=-1)
            de = F.normalize(mean_pool(model(input_ids=d, attention_mask=dm).last_hidden_state, dm), dim=-1)
            loss = F.cross_entropy((qe @ de.T).float() / 0.05, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    s = timed(train_step, 20, 5)
    res["train_pairs_per_s"] = a.batch / s
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        open(a.out, "w").write(text)


if __name__ == "__main__":
    main()
