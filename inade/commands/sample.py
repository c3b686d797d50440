"""Draw images from label maps with a trained model, with control per instance.

  random samples     inade sample --checkpoint RUN --label L.png --instance I.png --num 8 --seed 0 --out OUT --grid
  reproduce          ... --styles OUT/L_3.json
  redraw instances   ... --styles S.json --resample 26003,26004 --num 4   (only they change; --whole-image re-renders all)
  redraw a class     ... --styles S.json --resample-class car --num 4
  copy a style       ... --styles S.json --reference PHOTO --reference-label RL --reference-instance RI --copy 26001:26003
  reconstruct        ... --reference PHOTO_OF_L --reconstruct [--refine-steps 150]
  new image noise    ... --styles S.json --resample-noise --num 4
  image style (SPADE/CLADE with their encoder) ... --reference PHOTO --copy-image
  interpolate        ... --interpolate A.json B.json --steps 8

--temperature T scales the style noise of new draws (1: the paper's prior;
lower: less diverse, closer to the data). Redraws, copies and class redraws
change no pixel farther than 2 pixels from the edited instances (the new
rendering is composited into the image of --styles), unless --whole-image.
Instance ids are the raw values of your instance map. --label may be a folder
of label maps (with --instance a folder of instance maps of the same names).
Each image is written as OUT/<name>_<k>.png beside its style file <name>_<k>.json.
"""
import argparse
import glob
import os

from ..cli import add_max_pixels_argument, checked_max_pixels
from ..errors import InadeError
from ..resources import example_maps


def _ids(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InadeError(f"instance ids must be integers separated by commas, got {text!r}") from None


def _pairs(text):
    pairs = []
    for part in text.split(","):
        source, _, target = part.partition(":")
        if not target:
            raise InadeError(f"--copy takes SRC_ID:DST_ID pairs separated by commas, got {part!r}")
        pairs.append((_ids(source)[0], _ids(target)[0]))
    return pairs


def _inputs(label, instance):
    if not os.path.isdir(label):
        return [(label, instance)]
    labels = sorted(p for p in glob.glob(os.path.join(label, "*")) if os.path.isfile(p))
    if not labels:
        raise InadeError(f"no label maps in {label}")
    if instance is None:
        return [(p, None) for p in labels]
    pairs = []
    for path in labels:
        stem = os.path.splitext(os.path.basename(path))[0]
        matches = glob.glob(os.path.join(instance, stem + ".*"))
        if not matches:
            raise InadeError(f"no instance map for {os.path.basename(path)} in {instance}")
        pairs.append((path, matches[0]))
    return pairs


def run(synth, scene, args):
    """(images, styles) for the operation the arguments ask for."""
    from ..synthesis import Styles

    if args.interpolate:
        a, b = (Styles.load(p, synth.class_names) for p in args.interpolate)
        styles = synth.interpolate(a, b, args.steps, _ids(args.ids) if args.ids else None)
        return synth.render(scene, styles), styles
    base = (Styles.load(args.styles, synth.class_names) if args.styles
            else synth.draw_styles(scene, args.seed, args.temperature))
    local = not args.whole_image
    if args.resample or args.resample_class:
        ids = _ids(args.resample) if args.resample else scene.ids_of_class(args.resample_class)
        styles = [synth.resample(scene, base, ids, args.seed + k, args.temperature, local) for k in range(args.num)]
    elif args.copy:
        if not (args.reference and args.reference_label):
            raise InadeError("--copy needs --reference PHOTO and --reference-label (and --reference-instance)")
        reference = synth.scene(args.reference_label, args.reference_instance, max_pixels=args.max_pixels)
        seeds = [None] if args.mean else [args.seed + k for k in range(args.num)]
        styles = [synth.copy_style(scene, base, reference, args.reference_photo, _pairs(args.copy), s, local)
                  for s in seeds]
    elif args.resample_noise:
        styles = [synth.resample_image_noise(base, args.seed + k) for k in range(args.num)]
    elif args.copy_image:
        if not args.reference:
            raise InadeError("--copy-image needs --reference PHOTO")
        seeds = [None] if args.mean else [args.seed + k for k in range(args.num)]
        styles = [synth.copy_image_style(base, args.reference_photo, s) for s in seeds]
    elif args.reconstruct:
        if not args.reference:
            raise InadeError("--reconstruct needs --reference, the photo of this label map")
        seeds = [None] if args.mean else [args.seed + k for k in range(args.num)]
        styles = [synth.reconstruct(scene, args.reference_photo, base, s, args.refine_steps) for s in seeds]
    elif args.styles:
        styles = [base]
    else:
        styles = [synth.draw_styles(scene, args.seed + k, args.temperature) for k in range(args.num)]
    return synth.render(scene, styles), styles


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade sample", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="run folder or checkpoint file (default: the shipped procedural model)")
    parser.add_argument("--label", help="label map, or a folder of them (default: the shipped model's example map)")
    parser.add_argument("--instance", help="instance map (or folder); without it each class region is one instance")
    parser.add_argument("--num", type=int, default=4, help="images per label map")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--grid", action="store_true", help="also write <name>_grid.png")
    parser.add_argument("--styles", help="style file to start from (reproduces it when nothing else is asked)")
    parser.add_argument("--resample", help="redraw these instance ids (comma separated)")
    parser.add_argument("--resample-class", help="redraw every instance of this class (name or id)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="scale of the style noise drawn (1: the paper's prior; lower: less diverse, more faithful)")
    parser.add_argument("--whole-image", action="store_true",
                        help="redraw/copy: re-render the whole image (as the paper) instead of compositing the edit")
    parser.add_argument("--reference", help="a reference photo")
    parser.add_argument("--reference-label", help="the reference photo's label map")
    parser.add_argument("--reference-instance", help="the reference photo's instance map")
    parser.add_argument("--copy", help="SRC_ID:DST_ID[,...]: give target instances a reference instance's style")
    parser.add_argument("--reconstruct", action="store_true", help="every instance takes its own photo's style")
    parser.add_argument("--refine-steps", type=int, default=0,
                        help="with --reconstruct: then move the codes this many gradient steps towards the photo (e.g. 150)")
    parser.add_argument("--resample-noise", action="store_true", help="redraw the image-level noise z only")
    parser.add_argument("--copy-image", action="store_true",
                        help="SPADE/CLADE with an image encoder: take the --reference photo's image-level style")
    parser.add_argument("--mean", action="store_true", help="with --copy/--reconstruct: the distribution's mean")
    parser.add_argument("--interpolate", nargs=2, metavar=("A", "B"), help="two style files")
    parser.add_argument("--steps", type=int, default=8, help="images along an interpolation")
    parser.add_argument("--ids", help="with --interpolate: move only these instance ids")
    add_max_pixels_argument(parser, "images")
    args = parser.parse_args(argv)
    checked_max_pixels(args.max_pixels)
    if args.num < 1:
        raise InadeError(f"--num must be at least 1, got {args.num}")
    if args.refine_steps and not args.reconstruct:
        raise InadeError("--refine-steps refines a reconstruction: use it with --reconstruct")
    if args.label is None:  # the shipped model's own example, so that a first run needs no file
        if args.checkpoint or args.instance:
            raise InadeError("--label is needed with --checkpoint or --instance (the example map is the shipped model's)")
        args.label, args.instance, _ = example_maps()

    from ..data.readers import read_rgb
    from ..synthesis import Synthesizer
    from ..synthesis.outputs import write_results

    synth = Synthesizer.from_pretrained(args.checkpoint or "procedural")
    # read once, within the pixel limit; the operations take the photo as an array
    args.reference_photo = read_rgb(args.reference, args.max_pixels) if args.reference else None
    for label, instance in _inputs(args.label, args.instance):
        scene = synth.scene(label, instance, max_pixels=args.max_pixels)
        images, styles = run(synth, scene, args)
        written = write_results(args.out, scene, images, styles, args.grid)
        print(f"{scene.name}: wrote {len(images)} image(s) to {args.out}" + (f" ({written[-1]})" if args.grid else ""))
    return 0
