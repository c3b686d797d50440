"""Export a trained model for deployment with Paddle Inference.

    inade export --checkpoint runs/procedural --out exported/procedural
"""
import argparse



def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="run folder or checkpoint file (default: the shipped procedural model)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    from ..synthesis import Synthesizer
    from ..synthesis.export import export_model

    paths = export_model(Synthesizer.load(args.checkpoint), args.out)
    for name, prefix in paths.items():
        print(f"{name}: {prefix}.json + {prefix}.pdiparams")
    return 0
