"""Training: the paper's optimiser, re-initialisation in place, alpha without retracing, results."""

from dataclasses import replace

import keras
import numpy as np
import pytest

from breastnet.data.splits import cv_splits
from breastnet.model.variants import get_variant
from breastnet.train.batches import PatchStore
from breastnet.train.metrics import METRIC_KEYS
from breastnet.train.optimizer import cosine_rate, make_optimizer, optimizer_description, paper_optimizer
from breastnet.train.profiles import get_profile
from breastnet.train.trainer import Trainer


def test_optimizer_reproduces_legacy_keras_decay():
    opt = paper_optimizer()
    assert float(opt.momentum) == pytest.approx(0.9)
    schedule = opt._learning_rate
    for step in (0, 1, 1000, 10**6):
        lr = float(keras.ops.convert_to_numpy(schedule(step)))
        assert lr == pytest.approx(1e-3 / (1 + 1e-6 * step), rel=1e-6)


def test_profile_optimizer_is_built_and_named_in_results():
    adam = make_optimizer("adam", learning_rate=3e-4)
    assert isinstance(adam, keras.optimizers.Adam)
    assert float(keras.ops.convert_to_numpy(adam.learning_rate)) == pytest.approx(3e-4)
    assert isinstance(make_optimizer("sgd"), keras.optimizers.SGD)
    assert optimizer_description(3e-4, name="adam").startswith("Adam(lr=0.0003")
    assert optimizer_description(1e-3).startswith("SGD(lr=0.001, momentum=0.9")
    assert get_profile("paper").optimizer == "sgd"  # the paper's protocol keeps the paper's optimiser
    with pytest.raises(ValueError, match="optimizer must be one of"):
        get_profile("cpu", optimizer="rmsprop")
    with pytest.raises(ValueError, match="early stopping .patience 3. needs a validation part"):
        get_profile("cpu", patience=3)  # the cpu profile holds no validation part out
    assert get_profile("cpu", patience=3, val_fraction=0.2).patience == 3
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop")


def test_cosine_schedule_by_hand():
    # rate of epoch e of E: lr * (1 + cos(pi e / E)) / 2
    assert cosine_rate(1e-2, 10, 0) == pytest.approx(1e-2)
    assert cosine_rate(1e-2, 10, 5) == pytest.approx(5e-3)
    assert cosine_rate(1e-2, 4, 1) == pytest.approx(1e-2 * (1 + 0.70710678) / 2)  # 8.536e-3
    assert cosine_rate(1e-2, 4, 3) == pytest.approx(1e-2 * (1 - 0.70710678) / 2)  # 1.464e-3
    sgd = make_optimizer("sgd", 1e-2, lr_schedule="cosine")  # a plain rate, which the callback sets
    assert float(keras.ops.convert_to_numpy(sgd.learning_rate)) == pytest.approx(1e-2)
    sgd.learning_rate = 5e-3
    assert float(keras.ops.convert_to_numpy(sgd.learning_rate)) == pytest.approx(5e-3)
    assert optimizer_description(1e-2, lr_schedule="cosine") == (
        "SGD(lr=0.01, momentum=0.9), cosine schedule per epoch to 0 (not the paper's)"
    )
    assert get_profile("paper").lr_schedule == "inverse_time"  # the paper's protocol keeps the paper's decay
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        get_profile("cpu", lr_schedule="step")
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'"):
        make_optimizer("sgd", lr_schedule="step")


@pytest.fixture
def setup(tiny_dataset, tmp_path):
    # Compiled (traced) train step on every backend, with a small backbone so tracing is quick.
    profile = replace(
        get_profile("smoke"), epochs=2, batch_size=4, eval_batch_size=8, run_eagerly=False, subset=None, weights=None
    )
    split = cv_splits(tiny_dataset.records, n_folds=2, repeats=1, seed=0, val_fraction=0.25)[0]
    store = PatchStore(tiny_dataset, cache_dir=tmp_path, progress=False)
    return profile, split, store


def history(result):
    return result["training"]["history"]


@pytest.mark.parametrize(
    ("optimizer", "lr_schedule"), [("sgd", "inverse_time"), ("adam", "inverse_time"), ("sgd", "cosine")]
)
def test_reinitialised_run_reproduces_the_first_step_for_step(
    tiny_dataset, setup, tiny_backbone_registered, optimizer, lr_schedule
):
    profile, split, store = setup
    profile = replace(profile, optimizer=optimizer, lr_schedule=lr_schedule)
    trainer = Trainer(profile, verbose=0)
    variant = tiny_backbone_registered("E-DMTL")
    first, f1 = trainer.run(tiny_dataset, store, split, variant, seed=5)
    again, f2 = trainer.run(tiny_dataset, store, split, variant, seed=5)
    fresh, f3 = Trainer(profile, verbose=0).run(tiny_dataset, store, split, variant, seed=5)
    assert len(trainer.compiled_) == 1
    for other, feats in ((again, f2), (fresh, f3)):
        for key, values in history(first).items():
            np.testing.assert_allclose(history(other)[key], values, rtol=1e-5, err_msg=key)
        np.testing.assert_allclose(other["predictions"]["p_malignant"], first["predictions"]["p_malignant"], rtol=1e-5)
        np.testing.assert_allclose(feats, f1, rtol=1e-4, atol=1e-6)
    different, _ = trainer.run(tiny_dataset, store, split, variant, seed=6)
    assert not np.allclose(history(different)["loss"], history(first)["loss"])
    # Back to seed 5 after the kept initial weights moved on to seed 6: built anew, same run.
    back, _ = trainer.run(tiny_dataset, store, split, variant, seed=5)
    np.testing.assert_allclose(history(back)["loss"], history(first)["loss"], rtol=1e-5)
    # Re-initialising kept the learning rate (Adam holds it in a variable; zeroed, nothing trains)
    # and training moved the weights away from the seed's initial ones. The cosine schedule set
    # each epoch's rate, by hand 1e-3 * (1 + cos(pi e / 2)) / 2 for e = 0, 1, and left the last.
    model = next(iter(trainer.compiled_.values())).model
    last = 5e-4 if lr_schedule == "cosine" else 1e-3
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(last, rel=1e-3)
    if lr_schedule == "cosine":
        np.testing.assert_allclose(history(back)["learning_rate"], [1e-3, 5e-4], rtol=1e-5)
        assert "cosine" in back["config"]["optimizer"]
    else:
        assert "learning_rate" not in history(back)
    initial = trainer.initial_weights_[trainer.architecture_key(variant)][1]
    assert any(not np.allclose(w, w0) for w, w0 in zip(model.get_weights(), initial))


def test_a_diverged_run_is_a_clear_error_not_a_result(tiny_dataset, setup, tiny_backbone_registered):
    # Found 2026-12-06: DMTL on the cosine schedule from lr 1e-2 went to NaN, and the run died
    # inside scikit-learn's AUC with "Input contains NaN". Keras' TerminateOnNaN ends it; the run names itself.
    profile, split, store = setup
    profile = replace(profile, learning_rate=1e12)
    with pytest.raises(FloatingPointError, match=r"DMTL \(alpha 0\), fold 0 of repeat 0, seed 3: training diverged"):
        Trainer(profile, verbose=0).run(tiny_dataset, store, split, tiny_backbone_registered("DMTL"), seed=3)


def test_alpha_changes_without_a_new_model_or_trace(tiny_dataset, setup, tiny_backbone_registered):
    profile, split, store = setup
    trainer = Trainer(profile, verbose=0)
    plain, _ = trainer.run(tiny_dataset, store, split, tiny_backbone_registered("DSTL"), seed=1)
    compiled = next(iter(trainer.compiled_.values()))
    train_function = compiled.model.train_function
    heavy, _ = trainer.run(tiny_dataset, store, split, tiny_backbone_registered("DSTL", alpha=5.0), seed=1)
    assert len(trainer.compiled_) == 1 and compiled.model.train_function is train_function
    # Near-uniform predictions at the start: the entropy term is about -5 ln 2 = -3.5.
    assert history(heavy)["loss"][0] < history(plain)["loss"][0] - 2.0
    assert float(keras.ops.convert_to_numpy(compiled.model.alpha)) == 5.0


def test_result_describes_the_run(tiny_dataset, setup, tiny_backbone_registered):
    profile, split, store = setup
    result, features = Trainer(profile, verbose=0).run(
        tiny_dataset, store, split, tiny_backbone_registered("E-DMTL"), seed=0
    )
    assert set(result["metrics"]) == set(METRIC_KEYS)
    assert result["run"] | {} == {
        "variant": "E-DMTL",
        "family": "DMTL",
        "alpha": 0.25,
        "fold": 0,
        "repeat": 0,
        "seed": 0,
        "profile": "smoke",
        "dataset": tiny_dataset.name,
    }
    assert result["weights"] == "random init"
    assert result["dataset"]["synthetic"] is True
    assert result["provenance"]["backend"] == keras.backend.backend()
    assert result["dataset"]["n_test"] == len(split.test) == len(result["predictions"]["id"]) == len(features)
    assert set(result["predictions"]["id"]).isdisjoint(tiny_dataset.records[i].id for i in split.train)
    assert result["training"]["epochs_run"] == 2 and len(result["training"]["seconds"]["epochs"]) == 2


def test_densenet_two_streams_reinitialise_exactly(tiny_dataset, tmp_path):
    """The real architecture (eager, to skip a two-minute trace): the second run equals the first.

    Under the torch backend without per-stream name scopes, one backbone's gradients
    were never zeroed and piled up, so the second run drifted from the first.
    """
    profile = replace(get_profile("smoke"), epochs=1, batch_size=4, subset=None, weights=None, run_eagerly=True)
    split = cv_splits(tiny_dataset.records, n_folds=2, repeats=1, seed=0, val_fraction=0.25)[1]
    store = PatchStore(tiny_dataset, cache_dir=tmp_path, progress=False)
    trainer = Trainer(profile, verbose=0)
    first, _ = trainer.run(tiny_dataset, store, split, get_variant("E-DSTL"), seed=2)
    second, _ = trainer.run(tiny_dataset, store, split, get_variant("E-DSTL"), seed=2)
    np.testing.assert_allclose(history(second)["loss"], history(first)["loss"], rtol=1e-5)
    np.testing.assert_allclose(second["predictions"]["p_malignant"], first["predictions"]["p_malignant"], rtol=1e-4)


def test_early_stopping_monitor_ignores_alpha(tiny_dataset, setup, tiny_backbone_registered):
    """val_ce is the plain cross-entropy: alpha moves the objective (val_loss), not the criterion."""
    from breastnet.train.loop import RunEvaluation

    profile, split, store = setup
    trainer = Trainer(replace(profile, epochs=4, patience=4, min_epochs=2), verbose=0)
    runs = {
        a: trainer.run(tiny_dataset, store, split, tiny_backbone_registered("DSTL", alpha=a), seed=3)[0]
        for a in (0.0, 2.0)
    }
    for alpha, result in runs.items():
        assert result["config"]["early_stopping"] == {"monitor": "val_ce", "patience": 4, "min_epochs": 2}
        val_ce = history(result)["val_ce"]
        # Epoch 1 is never kept (min_epochs 2); the restored epoch is the lowest val_ce after it.
        assert result["training"]["best_epoch"] == 2 + int(np.argmin(val_ce[1:])), alpha
    # Same weights, two alphas: the criterion is equal, the objective differs by -alpha * mean entropy.
    compiled = next(iter(trainer.compiled_.values()))
    x = trainer._inputs(
        store.get(32, profile.margin),
        split.val,
        tiny_backbone_registered("DSTL"),
        keras.applications.densenet.preprocess_input,
    )
    y = np.array([tiny_dataset.records[i].pathology for i in split.val])
    logs = {
        a: RunEvaluation(compiled.model, compiled.batchnorm, True, x, (x, y, None), a, 8).epoch_logs()
        for a in (0.0, 4.0)
    }
    assert logs[0.0]["val_ce"] == logs[4.0]["val_ce"]
    compiled.batchnorm.update(x)  # the statistics epoch_logs evaluated with (estimated from x, here)
    p = compiled.model.inference.predict(x, verbose=0)["malignancy"][:, 1].astype(np.float64)
    entropy = -np.mean(p * np.log(p) + (1 - p) * np.log(1 - p))
    cross_entropy = -np.mean(np.where(y == 1, np.log(p), np.log(1 - p)))  # by hand
    assert logs[0.0]["val_ce"] == pytest.approx(cross_entropy, rel=1e-4)
    assert logs[4.0]["val_loss"] - logs[0.0]["val_loss"] == pytest.approx(-4.0 * entropy, rel=1e-3)


def test_without_early_stopping_the_last_epoch_is_tested(tiny_dataset, setup, tiny_backbone_registered):
    """`patience` None (the cpu profile): every epoch runs and the last epoch's weights are tested."""
    from breastnet.train.loop import RunEvaluation

    profile, split, store = setup
    variant = tiny_backbone_registered("DSTL")
    trainer = Trainer(replace(profile, epochs=3, patience=None), verbose=0)
    result, _ = trainer.run(tiny_dataset, store, split, variant, seed=4)
    assert result["training"]["epochs_run"] == 3
    assert result["training"]["best_epoch"] is None
    assert result["config"]["early_stopping"] == {"monitor": None, "patience": None, "min_epochs": None, "epochs": 3}
    val_ce = history(result)["val_ce"]
    assert len(val_ce) == 3  # the validation part is still evaluated after every epoch
    # The model left after the run is the last epoch's: its validation cross-entropy (with the
    # statistics the run is evaluated with) is the third epoch's, not the lowest one's.
    compiled = next(iter(trainer.compiled_.values()))
    main = store.get(32, profile.margin)
    preprocess = keras.applications.densenet.preprocess_input
    x_train = trainer._inputs(main, split.train, variant, preprocess)
    x_val = trainer._inputs(main, split.val, variant, preprocess)
    y_val = np.array([tiny_dataset.records[i].pathology for i in split.val])
    logs = RunEvaluation(compiled.model, compiled.batchnorm, True, x_train, (x_val, y_val, None), 0.0, 8).epoch_logs()
    assert logs["val_ce"] == pytest.approx(val_ce[-1], rel=1e-4)
    with pytest.raises(ValueError, match="patience"):
        replace(profile, patience=0)


def test_mixed_precision_trains_in_16_bits_and_scores_in_float32(tiny_dataset, setup, tiny_backbone_registered):
    """`precision: mixed_bfloat16` (for GPUs): bfloat16 compute, float32 variables and heads, recorded."""
    profile, split, store = setup
    trainer = Trainer(profile.replace(precision="mixed_bfloat16"), verbose=0)
    result, features = trainer.run(tiny_dataset, store, split, tiny_backbone_registered("E-DMTL"), seed=0)
    model = next(iter(trainer.compiled_.values())).model
    convs = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert model.get_layer("malignancy").compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert result["config"]["profile"]["precision"] == "mixed_bfloat16"
    p = np.asarray(result["predictions"]["p_malignant"])
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1)) and np.isfinite(features).all()


def test_averaged_weights_are_the_hand_computed_average_and_swap_back_exactly():
    """`AveragedWeights`: Keras' EMA of the weights (first step: the weights themselves), undone exactly."""
    from breastnet.train.loop import AveragedWeights

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.75), loss="mse")
    x, y = np.array([[1.0, 2.0]], dtype="float32"), np.array([[3.0]], dtype="float32")
    steps = []
    for _ in range(2):
        model.train_on_batch(x, y)
        steps.append(keras.ops.convert_to_numpy(model.trainable_variables[0]).copy())
    averaged = AveragedWeights(model)
    assert averaged.active
    averaged.swap_in()
    expected = 0.75 * steps[0] + 0.25 * steps[1]  # by hand: the average after two steps
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.trainable_variables[0]), expected, rtol=1e-6)
    averaged.swap_out()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.trainable_variables[0]), steps[1])
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    plain.compile(optimizer="sgd", loss="mse")
    assert not AveragedWeights(plain).active  # without use_ema: nothing to swap


def test_weight_average_changes_evaluation_not_training(tiny_dataset, setup, tiny_backbone_registered):
    """`weight_ema`: the training losses are those of the plain run; validation sees the average; recorded."""
    profile, split, store = setup
    variant = tiny_backbone_registered("DSTL")
    profile = replace(profile, epochs=3, patience=3, min_epochs=1)
    plain, _ = Trainer(profile, verbose=0).run(tiny_dataset, store, split, variant, seed=2)
    averaged, _ = Trainer(replace(profile, weight_ema=0.5), verbose=0).run(tiny_dataset, store, split, variant, seed=2)
    np.testing.assert_allclose(history(averaged)["loss"], history(plain)["loss"], rtol=1e-6)
    assert not np.allclose(history(averaged)["val_ce"], history(plain)["val_ce"])
    assert averaged["config"]["profile"]["weight_ema"] == 0.5
    assert "EMA (momentum 0.5)" in averaged["config"]["optimizer"]
    assert "EMA" not in plain["config"]["optimizer"]
