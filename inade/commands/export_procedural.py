"""Write procedural samples in the generic folder layout (images/, labels/, instances/).

    inade export-procedural OUT_DIR --num 100 [--size 64] [--seed 0]

OUT_DIR must be new, empty, or an earlier export (which is replaced whole).
"""
import argparse



def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade export-procedural", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="new or empty folder, or an earlier export")
    parser.add_argument("--num", type=int, default=100, help="number of samples (items 0..num-1)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="the scene stream, as data.seed in training")
    args = parser.parse_args(argv)
    from ..data.procedural import export_procedural

    written = export_procedural(args.out_dir, args.num, args.size, args.seed)
    print(f"wrote {args.num} procedural samples ({args.size}x{args.size}, seed {args.seed}) to {written} "
          "(images/, labels/, instances/)")
    return 0
