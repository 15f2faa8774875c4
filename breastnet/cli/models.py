"""Command line of the final models: `fit`, `predict`, `evaluate`, `external`, and `phantoms` (test data).

python -m breastnet fit --data PATH --variant E-DMTL --profile cpu --out models/ [--results results/]
python -m breastnet predict --model models/E-DMTL_a0.25_cpu.keras --image IMG --mask MASK
python -m breastnet predict --model M.keras --manifest CSV [--out predictions.csv]
python -m breastnet evaluate --model M.keras --data OTHER --out DIR
python -m breastnet external --data STUDY --external OTHER --profile cpu --out results
python -m breastnet phantoms --shift --out DIR        # the synthetic external-validation set
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .options import add_common, profile_from_args, weights_of

COMMANDS = ("fit", "predict", "evaluate", "external", "phantoms")


def add_parsers(sub) -> None:
    """Add the commands to `python -m breastnet`'s subparsers (with the common options of `add_common`)."""
    fit = sub.add_parser("fit", help="train one variant on the whole study dataset and save it with a model card")
    add_common(fit)
    fit.add_argument("--variant", default="E-DMTL", help="a Table 1 row with a network (default E-DMTL)")
    fit.add_argument("--alpha", type=float, default=None, help="entropy weight (default: the variant's)")
    fit.add_argument(
        "--results", default=None, help="results root of the same profile's CV runs, quoted in the model card"
    )

    predict = sub.add_parser("predict", help="p(malignant) of an image and its lesion mask, or of a manifest")
    predict.add_argument("--model", required=True, help="a .keras file written by `fit`")
    predict.add_argument("--image", help="image file (greyscale, RGB or RGBA)")
    predict.add_argument("--mask", help="lesion mask of the image (lesion > 127)")
    predict.add_argument("--manifest", help="CSV with columns image, mask [, id], paths relative to it")
    predict.add_argument("--out", default=None, help="CSV of the predictions (manifest; default: print them)")

    evaluate = sub.add_parser("evaluate", help="external validation: a saved model on another dataset")
    evaluate.add_argument("--model", required=True, help="a .keras file written by `fit`")
    evaluate.add_argument("--data", required=True, help="a BUS-BRA or BUSI folder, or a manifest CSV")
    evaluate.add_argument("--out", required=True, help="folder of the result file")

    external = sub.add_parser(
        "external", help="final models of the two-stream rows and the floor on the study data, tested on another"
    )
    add_common(external)
    external.add_argument("--external", required=True, help="the external dataset (folder or manifest CSV)")

    phantoms = sub.add_parser("phantoms", help="write synthetic phantoms as a manifest dataset")
    phantoms.add_argument("--out", required=True, help="folder to write (images/, masks/, manifest.csv)")
    phantoms.add_argument("--seed", type=int, default=1)
    phantoms.add_argument("--benign", type=int, default=150)
    phantoms.add_argument("--malignant", type=int, default=162)
    phantoms.add_argument("--shift", action="store_true", help="the shifted acquisition (external validation)")


def _print_problems(problems) -> None:
    for p in problems:
        print(f"  {p.where}: {p.code}: {p.message}", file=sys.stderr)


def run(args) -> int:
    """Run one of `COMMANDS`."""
    from ..data.problems import DataError

    try:
        return _run(args)
    except DataError as err:
        print(f"Cannot use the input: {len(err.problems)} problem(s)", file=sys.stderr)
        _print_problems(err.problems)
        return 1


def _run(args) -> int:
    if args.command == "phantoms":
        from ..data.synthetic import NO_SHIFT, SHIFTED, write_synthetic

        folder = write_synthetic(args.out, args.benign, args.malignant, args.seed, SHIFTED if args.shift else NO_SHIFT)
        print(f"wrote {args.benign + args.malignant} SYNTHETIC phantoms to {folder} (manifest.csv)")
        return 0
    if args.command == "fit":
        from ..data import load_dataset
        from ..deploy.fit import fit_final

        fit_final(
            load_dataset(args.data),
            profile_from_args(args),
            args.variant,
            args.out,
            alpha=args.alpha,
            results=args.results,
            weights=weights_of(args),
            verbose=0 if args.quiet else 2,
        )
        return 0
    if args.command == "predict":
        return _predict(args)
    if args.command == "external":
        from ..data import load_dataset
        from ..deploy.evaluate import run_external

        results = run_external(load_dataset(args.data), load_dataset(args.external), profile_from_args(args), args.out)
        print(f"{len(results)} external results for {args.external}")
        return 0
    if args.command == "evaluate":
        from ..data import load_dataset
        from ..deploy.evaluate import evaluate_external
        from ..study.results import write_result

        dataset = load_dataset(args.data)
        result, features = evaluate_external(args.model, dataset)
        path = Path(args.out) / f"{Path(args.model).stem}_on_{dataset.name}.json"
        write_result(path, result, features)
        m = result["metrics"]
        print(
            f"{result['run']['variant']} on {dataset.name} ({len(dataset)} images"
            f"{', SYNTHETIC' if dataset.synthetic else ''}): AUC {m['auc']:.3f}, accuracy {m['accuracy']:.3f}, "
            f"sensitivity {m['sensitivity']:.3f}, specificity {m['specificity']:.3f}, ECE {m['ece']:.3f}"
        )
        print(f"BI-RADS categories: {json.dumps(result['birads_categories'])}")
        print(f"result: {path}")
        return 0
    return 2


def _predict(args) -> int:
    from ..deploy.predict import load_final_model, predict_image, predict_manifest, write_predictions_csv

    if bool(args.manifest) == bool(args.image):
        print("give either --image (with --mask) or --manifest", file=sys.stderr)
        return 2
    model, card = load_final_model(args.model)
    if args.image:
        row = predict_image(model, args.image, args.mask, card)
        print(
            f"{row['image']}: p(malignant) {row['p_malignant']:.3f} -> {row['predicted']}; "
            f"entropy {row['entropy']:.3f} nats"
        )
        if "birads_score" in row:
            print(f"BI-RADS score {row['birads_score']:.3f}, nearest category {row['birads_nearest']}")
        print("Research use only; not a medical device.")
        return 0
    rows, problems = predict_manifest(model, args.manifest, card)
    if args.out:
        write_predictions_csv(rows, args.out)
        print(f"{len(rows)} predictions written to {args.out}")
    else:
        for row in rows:
            print(f"{row['id']}: p(malignant) {row['p_malignant']:.3f} -> {row['predicted']}")
    if problems:
        print(f"{len(problems)} row(s) could not be predicted:", file=sys.stderr)
        _print_problems(problems)
    return 0 if rows else 1
