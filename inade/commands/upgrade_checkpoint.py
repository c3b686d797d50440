"""Rewrite a checkpoint of an earlier version (.pdckpt, a Paddle pickle) in the
safetensors format that this version writes. The old file is read without
running code (a file that asks to is refused) and left in place.

    inade upgrade-checkpoint runs/old/checkpoints/latest.pdckpt [--out NEW.safetensors]
"""
import argparse



def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade upgrade-checkpoint", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="the old checkpoint file")
    parser.add_argument("--out", help="the new file (default: beside the old one, with .safetensors)")
    args = parser.parse_args(argv)

    from ..checkpoints.native import upgrade_checkpoint

    print(f"wrote {upgrade_checkpoint(args.checkpoint, args.out)}")
    return 0
