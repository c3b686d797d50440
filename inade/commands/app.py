"""Open the interactive page: paint or upload a label map, generate, click an
instance to redraw it, copy a style from a reference photo, download the image
and its style file.

    inade app                      # the shipped procedural model
    inade app --checkpoint runs/procedural --port 8000
"""
import argparse



def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade app", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="run folder or checkpoint file (default: the shipped procedural model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port; 0 picks a free one")
    args = parser.parse_args(argv)

    from ..app import make_server
    from ..errors import InadeError
    from ..synthesis import Synthesizer

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
