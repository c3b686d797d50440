"""Merge CelebAMask-HQ per-part masks into label maps (one PNG per image).

    inade merge-celeba-masks CelebAMask-HQ/CelebAMask-HQ-mask-anno datasets/celeba/train_label
"""
import argparse



def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade merge-celeba-masks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("anno_dir", help="CelebAMask-HQ-mask-anno folder (numbered subfolders of part masks)")
    parser.add_argument("out_dir", help="new or empty folder for the merged label maps")
    args = parser.parse_args(argv)
    from ..data.celeba_merge import merge_celeba_masks

    count = merge_celeba_masks(args.anno_dir, args.out_dir)
    print(f"wrote {count} label maps to {args.out_dir}")
    return 0
