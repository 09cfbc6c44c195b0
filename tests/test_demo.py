"""The ``convcore demo`` command: LeNet-style training on scikit-learn's digits."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")

from convcore import __main__ as cli  # noqa: E402
from convcore import optim  # noqa: E402
from convcore.training import evaluate  # noqa: E402

ACCURACY = re.compile(r"^test accuracy: (0\.\d{4}|1\.0000)$", re.MULTILINE)


def test_demo_reaches_97_percent_and_saves_the_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # --plot falls back to a message
    path = str(tmp_path / "lenet.npz")
    assert cli.main(["demo", "--epochs", "3", "--seed", "1", "--save", path,
                     "--plot", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    match = ACCURACY.search(out)
    assert match, out
    assert float(match.group(1)) >= 0.97
    assert "Total params: 13,802" in out or "Sequential(" in out  # summary, or its fallback
    assert "--plot needs matplotlib" in out and not os.path.exists(tmp_path / "plots")
    model = cli.lenet().load(path)
    _, _, x_test, y_test = cli._load_digits(1)
    assert evaluate(model, x_test, y_test)["accuracy"] == pytest.approx(float(match.group(1)), abs=1e-4)


def test_console_entry_point_one_epoch(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-m", "convcore", "demo", "--epochs", "1", "--optimizer", "sgd"],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False)
    assert r.returncode == 0, r.stderr
    assert ACCURACY.search(r.stdout), r.stdout
    assert "epoch 1/1" in r.stderr  # the tqdm bar


@pytest.mark.parametrize("name, cls", [("sgd", optim.SGD), ("momentum", optim.SGD), ("nesterov", optim.SGD),
                                       ("adagrad", optim.Adagrad), ("rmsprop", optim.RMSprop),
                                       ("adam", optim.Adam), ("adadelta", optim.Adadelta)])
def test_every_optimizer_option(name, cls):
    params = list(cli.lenet().parameters())
    opt = cli.make_optimizer(name, params)
    assert type(opt) is cls and opt.param_groups[0]["params"] == params
    assert opt.param_groups[0]["lr"] == cli.OPTIMIZERS[name][1]["lr"]
    assert cli.make_optimizer(name, params, lr=0.123).param_groups[0]["lr"] == 0.123
    assert opt.param_groups[0].get("nesterov", False) == (name == "nesterov")


def test_bad_optimizer_name_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--optimizer", "lbfgs"])
    assert "invalid choice: 'lbfgs'" in capsys.readouterr().err


def test_plot_writes_pngs_when_matplotlib_is_installed(tmp_path):
    pytest.importorskip("matplotlib")
    model = cli.lenet()
    history = cli.History(loss=[1.0, 0.5], val_loss=[0.9, 0.6])
    cli._plot(model, history, str(tmp_path))
    for name in ("filters.png", "loss.png"):
        with open(tmp_path / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
