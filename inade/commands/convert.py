"""Convert the authors' released PyTorch checkpoints (INADE, SPADE, CLADE) into a run
folder that `inade sample`, `evaluate`, `export` and `train` (fine-tuning) load.
PyTorch is not needed.

    inade convert --from checkpoints/cityscapes --dataset cityscapes --out converted/cityscapes
    inade convert --from G.pth E.pth --dataset custom -o data.label_nc=6 -o model.ngf=8 --out converted/mine
"""
import argparse
import os

from ..norm_kinds import NORM_KINDS
from ..resources import config_path

DATASETS = ("cityscapes", "ade20k", "coco", "celeba", "deepfashion", "custom")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade convert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", nargs="+", required=True,
                        help="folder of *net_G.pth / *net_E.pth (or net_IE) / *net_D.pth, or the files")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--norm-mode", choices=tuple(NORM_KINDS), default="inade")
    parser.add_argument("--config", help="configuration to start from (default: configs/<dataset>.yaml)")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="configuration override, e.g. -o data.label_nc=6 (custom datasets need it)")
    parser.add_argument("--key", metavar="NAME",
                        help="the entry holding the state dict in checkpoints that nest it in a larger dict "
                             "(e.g. state_dict, model, net_G), in every file read; needed only when a file "
                             "holds several state dicts, the only one is found by itself")
    parser.add_argument("--out", required=True, help="new or empty output folder")
    args = parser.parse_args(argv)

    from ..checkpoints.convert import convert_release, encoder_terms_off_overrides
    from ..config import load_config

    if args.config:
        base = args.config
    elif args.dataset == "custom":
        # procedural.yaml's sizes with the reference's losses; its colour branch must
        # be off before the configuration is checked (SPADE and CLADE refuse it)
        base = config_path("procedural")
        args.override = (["data.type=folder", "model.encoder_colour_statistics=false"] + encoder_terms_off_overrides()
                         + args.override)
    else:
        base = config_path(args.dataset)
    config = load_config(base, [f"model.norm_mode={args.norm_mode}", f"output_dir={args.out}"] + args.override)
    source = args.source[0] if len(args.source) == 1 else args.source
    files = convert_release(source, config, args.out, key=args.key, key_option="--key")
    for role, path in files.items():
        print(f"{role}: {path}")
    print(f"wrote {args.out} (sample with: python tools/sample.py --checkpoint {args.out} ...)")
    return 0
