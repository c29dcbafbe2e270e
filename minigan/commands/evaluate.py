"""Score a trained model: a classifier's test accuracy, or how varied a generator's digits are.

Examples::

    minigan eval runs/classifier-improved/model.npz                  # bundled test split
    minigan eval runs/classifier-improved/model.npz --data mnist_test.csv
    minigan eval runs/mnist-gan/model.npz --count 1000
    minigan eval runs/cgan/model.npz --per-label 100
    minigan eval runs/vae/model.npz                                  # held-out loss per image

A classifier with BatchNorm (cnn-classifier) is scored both ways: the book's (BatchNorm in
training mode, each image normalised alone) and in eval mode (the running statistics).
For a conditional GAN (cgan), ``--per-label`` images are drawn for each label 0-9 and the
table gives the share the judge reads as the requested digit. For any digit generator, ``--count`` samples are judged by the classifier shipped with minigan
(trained on real digits): how many of the 10 classes appear (a class counts from 2 % of the
samples), the largest class's share, the entropy of the class histogram, and the Frechet
distance between the judge's features of the samples and of real test digits. Mode collapse
is a number: a collapsed generator covers one or two classes.
"""
from __future__ import annotations

import argparse
import json

from . import device_arg, fail, run_reporting, seed_arg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model.npz written by minigan train")
    parser.add_argument("--data", default=None, help="test data (default: the bundled sample's test split)")
    parser.add_argument("--count", type=int, default=1000, help="samples to judge (generators)")
    parser.add_argument("--per-label", type=int, default=100,
                        help="images drawn per requested label (conditional GANs; default 100)")
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument("--device", type=device_arg, default="cpu")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def evaluate(model, data=None, count=1000, seed=0, device="cpu", per_label=100) -> dict:
    import minigan
    from .. import metrics
    from ..modelfile import ModelFileError, load_model
    from ..runs import batchnorm_accuracies, load_real_data
    experiment, modules, _ = load_model(model, device=device)
    if experiment.kind == "classifier":
        test = load_real_data(experiment, data, "test")
        both = (batchnorm_accuracies(experiment, modules["classifier"], test, device)
                if experiment.has_batchnorm else {})
        acc = both.get("test_accuracy_train_mode")
        if acc is None:
            acc = experiment.accuracy(modules["classifier"], test, device=device)
        return {"model": experiment.name, "test_accuracy": acc, "test_items": len(test),
                "data": test.source, "book": experiment.book_result, **both}
    if experiment.kind == "autoencoder":       # the held-out loss per image (minigan.models.autoencoding)
        test = load_real_data(experiment, data, "test")
        return {"model": experiment.name, "test_loss": experiment.held_out_loss(
                    modules["autoencoder"], test, device=device),
                "test_items": len(test), "data": test.source,
                "loss": "per image, summed over pixels" if experiment.loss_reduction == "sum"
                        else "per image, mean over pixels"}
    if experiment.data != "mnist":
        raise ModelFileError(f"{model}: {experiment.name} draws {experiment.data} images; "
                             "minigan eval judges digit generators (mnist-gan, mnist-gan-v1, cgan)")
    minigan.manual_seed(seed)
    images = experiment.sample(modules["G"], count, device)
    report = metrics.mode_collapse_report(images)
    real = load_real_data(experiment, data, "test")
    report["frechet_distance_to_real_test"] = metrics.frechet_distance_images(
        images, real.images.reshape(-1, 1, 28, 28) / 255.0)
    report["model"] = experiment.name
    if experiment.conditional:
        from ..book.cgan import label_accuracy
        minigan.manual_seed(seed)
        report["label_accuracy"] = label_accuracy(modules["G"], per_label, device, experiment=experiment)
    return report


def run(args) -> int:
    result = {}

    def go():
        result.update(evaluate(args.model, args.data, args.count, args.seed, args.device,
                               args.per_label))

    if args.count < 2:
        return fail("eval", f"--count must be at least 2, got {args.count}")
    if args.per_label < 1:
        return fail("eval", f"--per-label must be at least 1, got {args.per_label}")
    status = run_reporting("eval", go)
    if status == 0:
        if args.json:
            print(json.dumps(result, indent=2, default=str))
        else:
            table = result.pop("label_accuracy", None)
            for k, v in result.items():
                print(f"{k:32s} {v:.4f}" if isinstance(v, float) else f"{k:32s} {v}")
            if table is not None:
                from ..book.cgan import format_label_table
                print(f"\n{table['per_label_count']} images drawn per requested label, read by the judge:")
                print(format_label_table(table))
    return status
