"""Convert the authors' released PyTorch checkpoints (INADE, SPADE, CLADE) into a run
folder that sample.py, evaluate.py, export.py and train.py (fine-tuning) load.
PyTorch is not needed.

    python tools/convert.py --from checkpoints/cityscapes --dataset cityscapes --out converted/cityscapes
    python tools/convert.py --from G.pth E.pth --dataset custom -o data.label_nc=6 -o model.ngf=8 --out converted/mine
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import inade  # noqa: E402,F401
from inade.cli import run_cli  # noqa: E402

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
DATASETS = ("cityscapes", "ade20k", "coco", "celeba", "deepfashion", "custom")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", nargs="+", required=True,
                        help="folder of *net_G.pth / *net_E.pth (or net_IE) / *net_D.pth, or the files")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--norm-mode", choices=("inade", "spade", "clade"), default="inade")
    parser.add_argument("--config", help="configuration to start from (default: configs/<dataset>.yaml)")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="configuration override, e.g. -o data.label_nc=6 (custom datasets need it)")
    parser.add_argument("--key", metavar="NAME",
                        help="the entry holding the state dict in checkpoints that nest it in a larger dict "
                             "(e.g. state_dict, model, net_G), in every file read; needed only when a file "
                             "holds several state dicts, the only one is found by itself")
    parser.add_argument("--out", required=True, help="new or empty output folder")
    args = parser.parse_args(argv)

    from inade.checkpoints.convert import convert_release, encoder_terms_off_overrides
    from inade.config import load_config

    if args.config:
        base = args.config
    elif args.dataset == "custom":
        # procedural.yaml's sizes with the reference's losses; its colour branch must
        # be off before the configuration is checked (SPADE and CLADE refuse it)
        base = os.path.join(CONFIGS, "procedural.yaml")
        args.override = (["data.type=folder", "model.encoder_colour_statistics=false"] + encoder_terms_off_overrides()
                         + args.override)
    else:
        base = os.path.join(CONFIGS, f"{args.dataset}.yaml")
    config = load_config(base, [f"model.norm_mode={args.norm_mode}", f"output_dir={args.out}"] + args.override)
    source = args.source[0] if len(args.source) == 1 else args.source
    files = convert_release(source, config, args.out, key=args.key, key_option="--key")
    for role, path in files.items():
        print(f"{role}: {path}")
    print(f"wrote {args.out} (sample with: python tools/sample.py --checkpoint {args.out} ...)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
