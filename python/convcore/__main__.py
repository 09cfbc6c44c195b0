"""``python -m convcore`` / the ``convcore`` console script.

``convcore demo`` trains a LeNet-style network built with ``convcore.nn`` on
the handwritten digits bundled with scikit-learn (1797 real 8x8 scans, no
download) with ``convcore.training.fit`` and any of the ``convcore.optim``
optimizers, then reports the accuracy on a held-out 20% split. On the way it
prints the model summary and the dispatcher's choice for the second
convolution. ``--device cuda`` trains on the GPU (a clear error without one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from . import _ops
from . import functional as F
from . import explain, nn, optim
from .training import History, evaluate, fit

#: --optimizer name -> (class, hyper-parameters tuned for this demo)
OPTIMIZERS: dict[str, tuple[type[optim.Optimizer], dict[str, Any]]] = {
    "sgd": (optim.SGD, dict(lr=0.1)),
    "momentum": (optim.SGD, dict(lr=0.02, momentum=0.9)),
    "nesterov": (optim.SGD, dict(lr=0.02, momentum=0.9, nesterov=True)),
    "adagrad": (optim.Adagrad, dict(lr=0.02)),
    "rmsprop": (optim.RMSprop, dict(lr=1e-3)),
    "adam": (optim.Adam, dict(lr=2e-3)),
    "adadelta": (optim.Adadelta, dict(lr=1.0)),
}


def make_optimizer(name: str, params: Iterable[nn.Parameter], lr: Optional[float] = None) -> optim.Optimizer:
    """The demo's optimizer ``name`` (a key of OPTIMIZERS), with ``lr`` overriding its rate."""
    cls, kwargs = OPTIMIZERS[name]
    return cls(params, **{**kwargs, **({} if lr is None else {"lr": lr})})


def _load_digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): (N, 1, 8, 8) float32 in [0, 1], a shuffled 80/20 split."""
    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - exercised only without the demo extra
        sys.exit("convcore demo needs scikit-learn: pip install 'convcore[demo]'")
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    split = int(0.8 * len(x))
    train, test = order[:split], order[split:]
    return x[train], y[train], x[test], y[test]


def lenet() -> nn.Sequential:
    """LeNet-style for 8x8 digits: two (conv 3x3 - batch norm - relu - max pool 2)
    stages (1 -> 16 -> 32 channels, 8x8 -> 4x4 -> 2x2), then 128 -> 64 -> 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def _print_summary(model: nn.Layer, input_shape: tuple) -> None:
    try:
        from .summary import summary  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # the summary module is optional here
        print("(convcore.summary is not available: printing the model instead)")
        print(model)
        return
    print(summary(model, input_shape))


def _plot(model: nn.Sequential, history: History, directory: str) -> None:
    """Writes filters.png (the first convolution's kernels) and loss.png (the loss per epoch)."""
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
        from matplotlib.ticker import MaxNLocator  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print("--plot needs matplotlib (pip install matplotlib): no plots written")
        return
    os.makedirs(directory, exist_ok=True)
    conv = model[0]
    assert isinstance(conv, nn.Conv2d)
    weights = _ops.to_host(conv.weight.data)[:, 0]  # (16, 3, 3)
    fig, axes = plt.subplots(2, len(weights) // 2, figsize=(len(weights) / 2, 2.2))
    for ax, w in zip(axes.flat, weights):
        ax.imshow(w, cmap="gray")
        ax.axis("off")
    fig.suptitle("first-layer filters")
    fig.savefig(os.path.join(directory, "filters.png"), dpi=100)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    epochs = range(1, history.epochs + 1)
    ax.plot(epochs, history["loss"], marker="o", label="train")
    ax.plot(epochs, history["val_loss"], marker="o", label="test")
    ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "loss.png"), dpi=100)
    plt.close("all")
    print(f"plots written to {os.path.join(directory, 'filters.png')} and loss.png")


def demo(epochs: int = 10, batch_size: int = 32, optimizer: str = "adam", lr: Optional[float] = None,
         seed: int = 0, save: Optional[str] = None, plot: Optional[str] = None,
         device: str = "cpu") -> float:
    """Trains :func:`lenet` on the digits on ``device`` ('cpu', 'cuda',
    'cuda:N') and returns the test accuracy. RuntimeError for a GPU device
    when none can be used, ValueError for a malformed device string."""
    device = _ops.require_device(device)
    x_train, y_train, x_test, y_test = _load_digits(seed)
    F.manual_seed(seed)
    nn.init.manual_seed(seed)
    model = lenet()
    model.to(device)
    print(f"scikit-learn digits: {len(x_train)} training and {len(x_test)} test images, 8x8"
          + ("" if device == "cpu" else f", training on {device}"))
    _print_summary(model, (1, 8, 8))
    print(explain("conv2d", (batch_size, 16, 4, 4), (32, 16, 3, 3), padding=1))  # the second conv
    opt = make_optimizer(optimizer, model.parameters(), lr)
    print(f"optimizer: {type(opt).__name__}, lr {opt.param_groups[0]['lr']}")
    start = time.perf_counter()
    history = fit(model, x_train, y_train, epochs=epochs, batch_size=batch_size,
                  validation_data=(x_test, y_test), optimizer=opt, seed=seed)
    print(f"trained in {time.perf_counter() - start:.1f} s")
    if save:
        model.save(save)
        print(f"model saved to {save}")
    if plot:
        _plot(model, history, plot)
    accuracy = evaluate(model, x_test, y_test)["accuracy"]
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="convcore", description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="train a LeNet-style CNN on scikit-learn's handwritten digits")
    d.add_argument("--epochs", type=int, default=10)
    d.add_argument("--batch-size", type=int, default=32)
    d.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    d.add_argument("--lr", type=float, default=None, help="learning rate (default: per optimizer)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--save", metavar="PATH", default="convcore-digits.npz",
                   help="where to save the trained model (.npz; default %(default)s in the "
                        "current directory; '' skips saving)")
    d.add_argument("--plot", metavar="DIR", help="write first-layer filters and the loss curve as PNGs")
    d.add_argument("--device", default="cpu",
                   help="where to train: 'cpu' (default), 'cuda' or 'cuda:N'")
    args = parser.parse_args(argv)
    if args.command == "demo":
        try:
            _ops.require_device(args.device)
        except (RuntimeError, ValueError, TypeError) as exc:
            parser.error(f"--device {args.device}: {exc}")
        demo(args.epochs, args.batch_size, args.optimizer, args.lr, args.seed, args.save, args.plot,
             args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
