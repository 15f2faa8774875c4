"""Result dicts shaped as breastnet writes them, for the tests of breastnet.report (test_report_*.py)."""

import math

#: The config fields of a current network run (breastnet.train.trainer).
NET_CONFIG = {
    "optimizer": "SGD(lr=0.001, momentum=0.9, InverseTimeDecay(decay_steps=1, rate=1e-06))",
    "bn_stats": "precise",
    "bn_momentum": 0.99,
    "crop": "pad",
    "early_stopping": {"monitor": "val_ce", "patience": 2, "min_epochs": 1},
    "profile": {"learning_rate": 0.001},
}


def fake_result(
    family,
    alpha,
    fold,
    repeat=0,
    accuracy=0.5,
    n_train=60,
    n_val=20,
    n_test=20,
    synthetic=False,
    config=None,
    **metrics,
):
    """A minimal result dict with the keys breastnet.report reads (metrics: auc=..., balanced_accuracy=..., ...)."""
    y = [0, 1] * (n_test // 2)
    return {
        "run": {
            "variant": family if alpha == 0 else f"E-{family}",
            "family": family,
            "alpha": alpha,
            "fold": fold,
            "repeat": repeat,
            "seed": fold,
            "profile": "test",
            "dataset": "toy",
        },
        "dataset": {
            "name": "toy",
            "synthetic": synthetic,
            "citation": None,
            "n_train": n_train,
            "n_val": n_val,
            "n_test": n_test,
        },
        "weights": "random init",
        "config": {} if config is None else config,
        "training": {
            "epochs_run": 2,
            "best_epoch": 1,
            "history": {"loss": [1.0, 0.5], "val_loss": [0.9, 0.8]},
            "seconds": {"total": 30.0},
        },
        "metrics": {"sensitivity": 0.5, "specificity": 0.5, **metrics, "accuracy": accuracy},
        "provenance": {
            "backend": "tensorflow",
            "versions": {"keras": "3"},
            "hardware": {"accelerator": "cpu", "cpus": 2, "machine": "x86_64"},
        },
        "predictions": {
            "id": [f"i{k}" for k in range(n_test)],
            "y_true": y,
            "p_malignant": [0.5] * n_test,
            "entropy": [math.log(2)] * n_test,
        },
    }


def descriptors_result(fold, auc, accuracy=0.6, repeat=0, n_test=20, **metrics):
    """A result of the descriptor floor, shaped as breastnet writes it (no history, no alpha)."""
    r = fake_result("Descriptors", 0.0, fold, repeat, accuracy=accuracy, n_test=n_test, auc=auc, **metrics)
    r["run"]["variant"] = "Descriptors"
    r["weights"] = "none (hand-crafted descriptors)"
    r["training"] = {"epochs_run": None, "best_epoch": None, "history": {}, "seconds": {"total": 1.0}}
    return r


def curve_run():
    """The learning-curve run of a study: DSTL fold 0 with AUC per epoch, moving and precise."""
    r = fake_result("DSTL", 0.0, 0, config=NET_CONFIG, auc=0.8)
    r["training"] = {
        "epochs_run": 3,
        "best_epoch": 2,
        "learning_curve": True,
        "seconds": {"total": 30.0},
        "history": {
            "loss": [0.7, 0.6, 0.5],
            "val_ce": [0.69, 0.6, 0.65],
            "val_auc": [0.6, 0.75, 0.7],
            "val_loss": [0.69, 0.6, 0.65],
            "val_auc_moving": [0.5, 0.55, None],
            "val_auc_precise": [0.6, 0.75, 0.7],
            "test_auc_moving": [0.5, 0.52, 0.58],
            "test_auc_precise": [0.62, 0.8, 0.78],
        },
    }
    return r


def toy_runs():
    # AUC differences DSTL - DSSL are 0.02, 0.04, 0.06 like the accuracy ones (the hand-worked t above);
    # the accuracy means differ from the AUC means.
    results = []
    for fold, (dssl, dstl) in enumerate([(0.70, 0.72), (0.80, 0.84), (0.75, 0.81)]):
        results.append(fake_result("DSSL", 0.0, fold, accuracy=dssl, auc=dssl + 0.1))
        results.append(fake_result("DSTL", 0.0, fold, accuracy=dstl, auc=dstl + 0.1))
    results.append(fake_result("DSSL", 0.25, 0, accuracy=0.9))  # E-DSSL, one fold only
    results.append(fake_result("DMTL", 0.0, 0, accuracy=0.8, rmse=0.3, cc=0.7))
    return results
