"""Open the interactive page: paint or upload a label map, generate, click an
instance to redraw it, copy a style from a reference photo, download the image
and its style file.

    python tools/app.py                      # the shipped procedural model
    python tools/app.py --checkpoint runs/procedural --port 8000
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import inade  # noqa: E402,F401
from inade.cli import run_cli  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="run folder or checkpoint file (default: the shipped procedural model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port; 0 picks a free one")
    args = parser.parse_args(argv)

    from inade.app import make_server
    from inade.errors import InadeError
    from inade.synthesis import Synthesizer

    synth = Synthesizer.load(args.checkpoint)
    try:
        server = make_server(synth, args.host, args.port)
    except OSError as error:
        raise InadeError(f"cannot listen on {args.host}:{args.port} ({error.strerror}); try another --port") from None
    host, port = server.server_address[:2]
    print(f"inade page on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
