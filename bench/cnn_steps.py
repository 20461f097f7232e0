"""Training-step time of the picture CNN by width, on the device trainlab would train on: the figures behind
the CNN's CPU and GPU widths (``models/neural/encoders.py``).

    python bench/cnn_steps.py                       # 28x28 grey pictures, batch 256, widths 16..96
    python bench/cnn_steps.py --device cpu --steps 20

Each width: a few warm-up steps, then ``--steps`` timed AdamW steps (mixed precision on a GPU, as training uses),
printed as milliseconds a step and pictures a second.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from trainlab.models.neural.encoders import MediaInput, ResidualCNN
from trainlab.models.neural.estimator import resolve_device


def step_seconds(channels: int, device: torch.device, batch: int, size: int, steps: int) -> float:
    """Mean seconds of one training step of the CNN and a linear head on random pictures."""
    torch.manual_seed(0)
    media = MediaInput("image", "image", [1, size, size], 0, [0.5], [0.25], channels=channels, design=2)
    cnn = ResidualCNN(media)
    net = nn.Sequential(cnn, nn.Linear(cnn.width, 10)).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.rand(batch, size * size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    mixed = device.type == "cuda"

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=mixed):
            loss = nn.functional.cross_entropy(net(x).float(), y)
        loss.backward()
        optimizer.step()
        float(loss.detach())  # training reads the loss after every step, which waits for the device

    for _ in range(5):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--widths", default="16,24,32,48,64,96")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--steps", type=int, default=100)
    args = p.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    for width in (int(w) for w in args.widths.split(",")):
        seconds = step_seconds(width, device, args.batch, args.size, args.steps)
        print(json.dumps({"device": name, "channels": width, "batch": args.batch, "ms_per_step": round(1e3 * seconds, 2),
                          "pictures_per_s": round(args.batch / seconds)}))


if __name__ == "__main__":
    main()
