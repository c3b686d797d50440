"""Evaluate a model.

Procedural data (no weights needed: the oracle reads classes and instance styles back):
    inade evaluate --procedural                  # the shipped model (models/procedural)
    inade evaluate --checkpoint runs/procedural --procedural --out eval/procedural

Any model on its dataset's validation split (read from the run's data section; weight-free
colour statistics of each instance, reconstruction through the encoder, pixel diversity):
    inade evaluate --checkpoint runs/mydata --num-images 50 --samples-per-map 4 --out eval/mydata
  adding LPIPS diversity and FID/KID from weight files you downloaded:
    inade evaluate --checkpoint runs/mydata --lpips-weights alex.pth --lpips-trunk alexnet-owt-7be5be79.pth \
        --inception-weights pt_inception-2015-12-05-6726825d.pth

Semantic consistency from an external segmenter's predictions (one PNG of class ids per image):
    inade evaluate --predictions PRED_DIR --labels LABEL_DIR --num-classes 35 [--ignore 255]
"""
import argparse
import glob
import os

from ..cli import add_max_pixels_argument, checked_max_pixels
from ..errors import InadeError


def segmentation(args):
    from ..data.readers import read_index_map
    from ..metrics import segmentation_scores

    predictions = sorted(glob.glob(os.path.join(args.predictions, "*.png")))
    if not predictions:
        raise InadeError(f"no PNG predictions in {args.predictions}")
    pairs = []
    for path in predictions:
        stem = os.path.splitext(os.path.basename(path))[0]
        matches = glob.glob(os.path.join(args.labels, stem + ".*"))
        if not matches:
            raise InadeError(f"no label map for prediction {os.path.basename(path)} in {args.labels}")
        prediction = read_index_map(path, "prediction", args.max_pixels)
        target = read_index_map(matches[0], "label", args.max_pixels)
        if prediction.shape != target.shape:
            raise InadeError(f"{path}: {prediction.shape[1]}x{prediction.shape[0]}, but its label map {matches[0]} "
                             f"is {target.shape[1]}x{target.shape[0]}")
        pairs.append((prediction, target))
    scores = segmentation_scores([p for p, _ in pairs], [t for _, t in pairs], args.num_classes, args.ignore)
    print(f"images {len(predictions)}  mIoU {scores['miou']:.4f}  pixel accuracy {scores['pixel_accuracy']:.4f}")
    return scores


def pretrained_networks(args) -> dict:
    """The networks the user gave weights for, as evaluate_*'s keyword arguments."""
    networks = {}
    if args.inception_weights:
        from ..metrics.inception import load_fid_inception

        networks["inception"] = load_fid_inception(args.inception_weights)
    if bool(args.lpips_weights) != bool(args.lpips_trunk):
        raise InadeError("LPIPS needs both --lpips-weights (the linear layers) and --lpips-trunk (the AlexNet or "
                         "VGG16 weights they were trained on)")
    if args.lpips_weights:
        from ..metrics.lpips import load_lpips

        networks["lpips"] = load_lpips(args.lpips_weights, args.lpips_trunk)
    return networks


def compare(synths, args, networks):
    from ..data.procedural import ProceduralDataset
    from ..evaluation import evaluate_procedural
    from ..evaluation.report import comparison_figure, comparison_table, save_json

    sizes = {name: synth.size for name, synth in synths.items()}
    if len(set(sizes.values())) > 1:
        raise InadeError(f"models to compare must have one image size, got {sizes}")
    results = {name: evaluate_procedural(synth, args.layouts, args.samples, args.seed, refine_steps=args.refine_steps,
                                         **networks)
               for name, synth in synths.items()}
    print(comparison_table(results))
    if args.out:
        save_json(results, os.path.join(args.out, "comparison.json"))
        size = next(iter(synths.values())).size[1]
        comparison_figure(synths, ProceduralDataset(size=size, num_samples=4, seed=args.seed),
                          os.path.join(args.out, "comparison.png"), samples=3)
        print(f"wrote {args.out}/comparison.json and {args.out}/comparison.png")
    return 0


def validation(path, args):
    """Score one model on the validation split its configuration names."""
    from ..data import build_dataset
    from ..errors import ConfigError
    from ..evaluation import evaluate_dataset, validation_maps
    from ..evaluation.report import dataset_table, save_json
    from ..synthesis import Synthesizer

    if args.num_images < 1:
        raise InadeError(f"--num-images must be positive, got {args.num_images}")
    if args.samples_per_map < 2:
        raise InadeError(f"--samples-per-map must be at least 2 (diversity compares samples), got {args.samples_per_map}")
    synth = Synthesizer.load(path)
    dataset = build_dataset(synth.config.data, "val")
    if len(dataset) == 0:
        raise ConfigError(f"the validation split of {path} holds no images")
    maps = validation_maps(dataset, args.num_images)
    result = evaluate_dataset(synth, maps, args.samples_per_map, args.seed, max_pixels=args.max_pixels,
                              **pretrained_networks(args))
    result["settings"]["checkpoint"] = path
    text = dataset_table(result)
    print(text)
    if args.out:
        from ..atomic import atomic_write_text

        save_json(result, os.path.join(args.out, "metrics.json"))
        atomic_write_text(os.path.join(args.out, "metrics.txt"), text + "\n")
        print(f"wrote {args.out}/metrics.json and {args.out}/metrics.txt")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", nargs="+", metavar="[NAME=]PATH",
                        help="run folder or checkpoint file; several (optionally named) for a side-by-side "
                             "comparison (default with --procedural: the shipped model)")
    parser.add_argument("--procedural", action="store_true", help="oracle metrics on the procedural dataset")
    parser.add_argument("--layouts", type=int, default=12, help="label maps to evaluate")
    parser.add_argument("--samples", type=int, default=4, help="images per label map")
    parser.add_argument("--num-images", type=int, default=16, help="validation label maps to evaluate (with --checkpoint)")
    parser.add_argument("--samples-per-map", type=int, default=4, help="images generated per validation map")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--refine-steps", type=int, default=0,
                        help="also report the reconstruction error after this many refinement steps of the codes (e.g. 150)")
    parser.add_argument("--out", help="folder for metrics.json and samples.png")
    parser.add_argument("--inception-weights", help="FID Inception weights (pytorch-fid's pt_inception-*.pth or .pdparams): adds FID and KID")
    parser.add_argument("--lpips-weights", help="LPIPS linear weights (the LPIPS release's weights/v0.1/alex.pth or "
                                                "vgg.pth): adds the samples' mean pairwise LPIPS")
    parser.add_argument("--lpips-trunk", help="the network those were trained on: torchvision's alexnet-owt-*.pth "
                                              "or vgg16-*.pth (or .pdparams / .safetensors with the same names)")
    parser.add_argument("--predictions", help="folder of predicted label maps")
    parser.add_argument("--labels", help="folder of ground-truth label maps (same file names)")
    parser.add_argument("--num-classes", type=int)
    parser.add_argument("--ignore", type=int, help="label value to ignore (e.g. 255)")
    add_max_pixels_argument(parser, "prediction and label maps")
    args = parser.parse_args(argv)
    checked_max_pixels(args.max_pixels)

    if args.predictions:
        if not (args.labels and args.num_classes):
            raise InadeError("--predictions needs --labels and --num-classes")
        scores = segmentation(args)
        if args.out:
            from ..evaluation.report import save_json

            save_json(scores, os.path.join(args.out, "segmentation.json"))
        return 0
    if not args.procedural:
        if not args.checkpoint:
            raise InadeError("give --checkpoint RUN (its validation split), --procedural, "
                             "or --predictions with --labels")
        if len(args.checkpoint) > 1:
            raise InadeError("the validation-split evaluation takes one --checkpoint (comparisons: --procedural)")
        return validation(args.checkpoint[0], args)
    from ..data.procedural import ProceduralDataset
    from ..evaluation import evaluate_procedural
    from ..evaluation.report import sample_figure, save_json, table
    from ..synthesis import Synthesizer
    from ..synthesis.synthesizer import DEFAULT_MODEL

    checkpoints = args.checkpoint
    if not checkpoints:
        print(f"evaluating the shipped model ({os.path.relpath(DEFAULT_MODEL)})")
        checkpoints = [DEFAULT_MODEL]
    synths = {}
    for entry in checkpoints:
        name, _, path = entry.rpartition("=") if "=" in entry and not os.path.exists(entry) else ("", "", entry)
        synths[name or os.path.basename(os.path.normpath(path))] = synth = Synthesizer.load(path)
        if synth.config.data.type != "procedural":
            raise InadeError(f"--procedural needs a model of the procedural data, {path} is of {synth.config.data.type!r}")
    networks = pretrained_networks(args)
    if len(synths) > 1:
        return compare(synths, args, networks)
    result = evaluate_procedural(synth, args.layouts, args.samples, args.seed, refine_steps=args.refine_steps,
                                 **networks)
    print(table(result))
    if args.out:
        save_json(result, os.path.join(args.out, "metrics.json"))
        dataset = ProceduralDataset(size=synth.size[1], num_samples=4, seed=args.seed)
        sample_figure(synth, dataset, os.path.join(args.out, "samples.png"))
        print(f"wrote {args.out}/metrics.json and {args.out}/samples.png")
    return 0
