"""``python -m convcore`` / the ``convcore`` console script.

``convcore demo`` trains a small convolutional network on the handwritten
digits bundled with scikit-learn (1797 real 8x8 scans, no download), written
directly against ``convcore.functional``: every convolution's forward pass and
both of its gradients run in convcore's native core.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Optional, Sequence

import numpy as np

from . import explain, functional as F


def _load_digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - exercised only without the demo extra
        sys.exit("convcore demo needs scikit-learn: pip install 'convcore[demo]'")
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    split = int(0.8 * len(x))
    train, test = order[:split], order[split:]
    return x[train], y[train], x[test], y[test]


class _TinyConvNet:
    """conv3x3(1->16) - relu - conv3x3/2(16->32) - relu - linear(32*4*4 -> 10)."""

    def __init__(self, rng: np.random.Generator) -> None:
        def he(shape: tuple, fan_in: int) -> np.ndarray:
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

        self.params = {
            "w1": he((16, 1, 3, 3), 9), "b1": np.zeros(16, np.float32),
            "w2": he((32, 16, 3, 3), 144), "b2": np.zeros(32, np.float32),
            "w3": he((512, 10), 512), "b3": np.zeros(10, np.float32),
        }
        self.velocity = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, dict]:
        p = self.params
        z1 = F.conv2d(x, p["w1"], p["b1"], padding="same")
        a1 = np.maximum(z1, 0)
        z2 = F.conv2d(a1, p["w2"], p["b2"], stride=2, padding="same")
        a2 = np.maximum(z2, 0)
        flat = a2.reshape(len(x), -1)
        logits = flat @ p["w3"] + p["b3"]
        return logits, {"x": x, "z1": z1, "a1": a1, "z2": z2, "flat": flat}

    def step(self, x: np.ndarray, y: np.ndarray, lr: float, momentum: float = 0.9) -> float:
        p = self.params
        logits, cache = self.forward(x)
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())
        dlogits = probs
        dlogits[np.arange(len(y)), y] -= 1
        dlogits /= len(y)
        grads = {"w3": cache["flat"].T @ dlogits, "b3": dlogits.sum(axis=0)}
        dz2 = (dlogits @ p["w3"].T).reshape(cache["z2"].shape) * (cache["z2"] > 0)
        da1, grads["w2"], grads["b2"] = F.conv2d_backward(
            dz2, cache["a1"], p["w2"], stride=2, padding="same")
        dz1 = da1 * (cache["z1"] > 0)
        _, grads["w1"], grads["b1"] = F.conv2d_backward(
            dz1, cache["x"], p["w1"], padding="same", needs=("weight", "bias"))
        for k, g in grads.items():
            self.velocity[k] = momentum * self.velocity[k] - lr * g.astype(np.float32)
            p[k] += self.velocity[k]
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[0].argmax(axis=1)


def demo(epochs: int, batch_size: int, lr: float, seed: int) -> float:
    x_train, y_train, x_test, y_test = _load_digits(seed)
    rng = np.random.default_rng(seed)
    net = _TinyConvNet(rng)
    print(f"scikit-learn digits: {len(x_train)} training and {len(x_test)} test images, 8x8")
    print(explain("conv2d", (batch_size, 16, 8, 8), (32, 16, 3, 3), stride=2, padding="same"))
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        batches = range(0, len(order), batch_size)
        bar = tqdm(batches, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False) if tqdm else batches
        losses = []
        for i in bar:
            idx = order[i:i + batch_size]
            losses.append(net.step(x_train[idx], y_train[idx], lr))
        acc = float((net.predict(x_test) == y_test).mean())
        print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, test accuracy {acc:.4f}")
    accuracy = float((net.predict(x_test) == y_test).mean())
    print(f"trained in {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="convcore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="train a small CNN on scikit-learn's handwritten digits")
    d.add_argument("--epochs", type=int, default=8)
    d.add_argument("--batch-size", type=int, default=32)
    d.add_argument("--lr", type=float, default=0.05)
    d.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.epochs, args.batch_size, args.lr, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
