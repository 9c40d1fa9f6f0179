#!/usr/bin/env python3
"""The PyTorch reference of bench:accuracy: FedAvg (McMahan et al. 2017) on the CPU.

bench/accuracy.ts writes a work folder and starts this script (Debian: apt-get install python3-torch,
then run with /usr/bin/python3). The folder holds exactly what Pollen's side trains from, so the two
sides differ only in their arithmetic and their local shuffles:
  manifest.json  the protocol (learning rate, batch, local epochs), the example shape, the classes,
                 the features' dtype (uint8: scaled by 1/255; float32: as they are), each shard's
                 offset and count, the test count, and the MLP's weights (name, shape) in order
  shards.bin     every device's examples, shard after shard;  shards-labels.bin  their labels (uint8)
  test.bin       the held-out examples;                       test-labels.bin    their labels
  init.bin       the initial weights, float32, in the manifest's order (TF.js layout: kernel [in, out])

Then one line per round on stdin, "ROUND SEED D1,D2,…" (the devices the round samples, the same ones
Pollen's side trained), answered by one JSON line once the round is trained, aggregated and evaluated:
  {"round": 3, "accuracy": 0.81, "loss": 0.52, "trainSeconds": 0.41, "evalSeconds": 0.05}
Usage: torch_fedavg.py --work DIR [--threads N]
"""
import argparse, json, os, sys, time

import numpy as np
import torch
import torch.nn.functional as F


def load(work):
    with open(os.path.join(work, "manifest.json")) as f:
        m = json.load(f)
    dtype = np.uint8 if m["dtype"] == "uint8" else np.float32
    size = int(np.prod(m["shape"]))

    def features(name, count):
        x = np.fromfile(os.path.join(work, name), dtype=dtype)
        if x.size != count * size:
            raise ValueError(f"{name}: {x.size} values, expected {count} x {size}")
        x = torch.from_numpy(x.astype(np.float32).reshape(count, size))
        return x / 255.0 if dtype == np.uint8 else x

    def labels(name, count):
        y = np.fromfile(os.path.join(work, name), dtype=np.uint8)
        if y.size != count:
            raise ValueError(f"{name}: {y.size} labels, expected {count}")
        return torch.from_numpy(y.astype(np.int64))

    total = sum(s["count"] for s in m["shards"])
    x, y = features("shards.bin", total), labels("shards-labels.bin", total)
    shards = [(x[s["offset"]:s["offset"] + s["count"]], y[s["offset"]:s["offset"] + s["count"]])
              for s in m["shards"]]
    test = (features("test.bin", m["test"]), labels("test-labels.bin", m["test"]))
    flat = np.fromfile(os.path.join(work, "init.bin"), dtype=np.float32)
    weights, at = [], 0
    for w in m["weights"]:
        n = int(np.prod(w["shape"]))
        weights.append(torch.from_numpy(flat[at:at + n].copy()).reshape(w["shape"]))
        at += n
    if at != flat.size:
        raise ValueError(f"init.bin: {flat.size} floats, the weights take {at}")
    return m, shards, test, weights


def as_layers(weights):
    """TF.js dense weights (kernel [in, out], bias [out], …) as torch Linear (weight [out, in], bias)."""
    if len(weights) % 2:
        raise ValueError("expected kernel and bias pairs")
    return [[weights[i].t().contiguous(), weights[i + 1].clone()] for i in range(0, len(weights), 2)]


def forward(layers, x):
    for i, (w, b) in enumerate(layers):
        x = F.linear(x, w, b)
        if i < len(layers) - 1:
            x = F.relu(x)
    return F.log_softmax(x, dim=1)


def train(layers, x, y, lr, batch, epochs, generator):
    """E epochs of plain SGD on one device's examples, reshuffled each epoch; returns new layers."""
    params = [[w.clone().requires_grad_(), b.clone().requires_grad_()] for w, b in layers]
    flat = [p for pair in params for p in pair]
    opt = torch.optim.SGD(flat, lr=lr)
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            F.nll_loss(forward(params, x[idx]), y[idx]).backward()
            opt.step()
    return [[w.detach(), b.detach()] for w, b in params]


@torch.no_grad()
def evaluate(layers, x, y):
    out = forward(layers, x)
    return (out.argmax(1) == y).float().mean().item(), F.nll_loss(out, y).item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, shards, (tx, ty), weights = load(a.work)
    layers = as_layers(weights)
    lr, batch, epochs = m["learningRate"], m["batchSize"], m["localEpochs"]
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__}),
          flush=True)
    for line in sys.stdin:
        r, seed, devices = line.split()
        devices = [int(d) for d in devices.split(",")]
        start = time.perf_counter()
        total = sum(shards[d][0].shape[0] for d in devices)
        mean = [[torch.zeros_like(w), torch.zeros_like(b)] for w, b in layers]
        for d in devices:
            # each device its own shuffles each round, repeatable from the run's seed
            g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(r) * 1000 + d)
            local = train(layers, *shards[d], lr, batch, epochs, g)
            share = shards[d][0].shape[0] / total
            for acc, new in zip(mean, local):
                acc[0].add_(new[0], alpha=share)
                acc[1].add_(new[1], alpha=share)
        layers = mean
        trained = time.perf_counter()
        accuracy, loss = evaluate(layers, tx, ty)
        print(json.dumps({"round": int(r), "accuracy": accuracy, "loss": loss,
                          "trainSeconds": trained - start,
                          "evalSeconds": time.perf_counter() - trained}), flush=True)


if __name__ == "__main__":
    main()
