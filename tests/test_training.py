"""convcore.training: fit / evaluate / predict on tiny float64 models."""

from __future__ import annotations

import numpy as np
import pytest

from convcore import nn, optim, training


def _blobs(rng, n=120):
    centers = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    y = rng.integers(0, 3, n)
    return centers[y] + 0.5 * rng.standard_normal((n, 4)), y


def _net(seed=0, dropout=False):
    """Linear - tanh - (dropout) - linear in float64, weights drawn from ``seed``."""
    layers = [nn.Linear(4, 8, dtype=np.float64), nn.Tanh()] + ([nn.Dropout(0.5)] if dropout else [])
    model = nn.Sequential(*layers, nn.Linear(8, 3, dtype=np.float64))
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data[...] = 0.3 * rng.standard_normal(p.shape)
    return model


def test_loss_falls_and_history_keys(rng):
    x, y = _blobs(rng)
    model = _net()
    hist = training.fit(model, x[:100], y[:100], epochs=8, batch_size=16, loss="cross_entropy",
                        optimizer=optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                        validation_data=(x[100:], y[100:]), seed=0, verbose=False)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 8 for v in hist.values()) and hist.epochs == 8
    assert hist["loss"][-1] < 0.3 * hist["loss"][0]
    assert hist["accuracy"][-1] > 0.9 and hist["val_accuracy"][-1] > 0.9
    assert hist["val_loss"][-1] == pytest.approx(training.evaluate(model, x[100:], y[100:])["loss"])


def test_one_full_batch_epoch_is_one_sgd_step(rng):
    x, y = _blobs(rng, 20)
    model, manual = _net(), _net()
    training.fit(model, x, y, epochs=1, batch_size=20, shuffle=False, loss=nn.CrossEntropyLoss(),
                 optimizer=optim.SGD(model.parameters(), lr=0.5), verbose=False)
    loss = nn.CrossEntropyLoss()
    loss.forward(manual(x), y)
    manual.backward(loss.backward())
    for (name, p), q in zip(model.named_parameters(), manual.parameters()):
        np.testing.assert_allclose(p.data, q.data - 0.5 * q.grad, rtol=1e-12, err_msg=name)
        assert not np.allclose(q.grad, 0)


def test_fit_is_reproducible_with_a_seed(rng):
    x, y = _blobs(rng)
    runs = []
    for seed in (3, 3, 4):
        model = _net(dropout=True)
        hist = training.fit(model, x, y, epochs=2, batch_size=10, seed=seed,
                            optimizer=optim.Adam(model.parameters(), lr=0.01), verbose=False)
        runs.append((hist, [p.data for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    for a, b, c in zip(runs[0][1], runs[1][1], runs[2][1]):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, c) for a, c in zip(runs[0][1], runs[2][1]))


def test_regression_with_mse_has_no_accuracy(rng):
    x = rng.standard_normal((64, 4))
    target = x @ rng.standard_normal((4, 3))
    model = _net()
    hist = training.fit(model, x, target, epochs=5, batch_size=8, loss="mse",
                        validation_data=(x[:16], target[:16]),
                        optimizer=optim.SGD(model.parameters(), lr=0.05), verbose=False)
    assert set(hist) == {"loss", "val_loss"}
    assert hist["loss"][-1] < hist["loss"][0]
    assert set(training.evaluate(model, x, target, loss="mse")) == {"loss"}


def test_evaluate_and_predict_batches_equal_one_batch(rng):
    x, y = _blobs(rng, 50)
    model = _net()
    one = training.evaluate(model, x, y, batch_size=50)
    many = training.evaluate(model, x, y, batch_size=7)
    assert many["loss"] == pytest.approx(one["loss"], rel=1e-12)
    assert many["accuracy"] == one["accuracy"]
    assert one["accuracy"] == np.mean(model(x).argmax(1) == y)
    np.testing.assert_allclose(training.predict(model, x, batch_size=7), model(x), rtol=1e-12)
    np.testing.assert_allclose(model.predict(x, batch_size=50), model(x), rtol=1e-12)


def test_predict_uses_eval_mode_and_restores_each_layer(rng):
    x, _ = _blobs(rng, 10)
    model = _net(dropout=True)
    model[0].eval()  # a mixed state must survive predict / evaluate
    out = training.predict(model, x)
    np.testing.assert_allclose(out, model.eval()(x))  # dropout inactive in predict
    model.train()
    model[0].eval()
    training.predict(model, x, batch_size=3)
    assert [layer.training for layer in model] == [False, True, True, True]
    assert model.training


def test_schedulers_are_stepped_per_epoch(rng):
    x, y = _blobs(rng, 30)
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    training.fit(model, x, y, epochs=3, optimizer=opt,
                 scheduler=optim.StepLR(opt, step_size=1, gamma=0.5), verbose=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=10.0,
                                      threshold_mode="abs")
    hist = training.fit(model, x, y, epochs=3, optimizer=opt,
                        validation_data=(x[:10], y[:10]), scheduler=plateau, verbose=False)
    assert plateau.best == hist["val_loss"][0]  # stepped with the validation loss
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)  # no epoch beat the first by 10


def test_progress_bar_only_when_verbose(rng, capsys):
    x, y = _blobs(rng, 20)
    training.fit(_net(), x, y, epochs=2, batch_size=5, verbose=True)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "loss=" in err and "accuracy=" in err
    training.fit(_net(), x, y, epochs=1, batch_size=5, verbose=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_default_optimizer_is_sgd_with_momentum(rng, monkeypatch):
    made = []
    real = optim.SGD

    def spy(*args, **kwargs):
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(training.optim, "SGD", spy)
    x, y = _blobs(rng, 20)
    training.fit(_net(), x, y, verbose=False)
    assert made == [{"lr": 0.01, "momentum": 0.9}]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(loss="hinge"), ValueError, "loss must be one of"),
    (dict(loss=object()), TypeError, "forward and backward"),
])
def test_fit_argument_errors(rng, kwargs, error, match):
    x, y = _blobs(rng, 10)
    with pytest.raises(error, match=match):
        training.fit(_net(), x, y, verbose=False, **{"loss": nn.CrossEntropyLoss(), **kwargs})


def test_mismatched_sample_counts(rng):
    x, y = _blobs(rng, 10)
    with pytest.raises(ValueError, match="same number"):
        training.fit(_net(), x, y[:5], verbose=False)
    with pytest.raises(ValueError, match="same number"):
        training.evaluate(_net(), x[:0], y[:0])


def test_float32_model_takes_float64_and_integer_data(rng):
    x, y = _blobs(rng, 24)
    model = nn.Sequential(nn.Linear(4, 3))
    hist = training.fit(model, x, y, epochs=2, batch_size=8, validation_data=(x.round().astype(int), y),
                        verbose=False)
    assert np.isfinite(hist["val_loss"]).all()
    assert model[0].weight.data.dtype == np.float32
    out = training.predict(model, x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model(x.astype(np.float32)), rtol=1e-6)
