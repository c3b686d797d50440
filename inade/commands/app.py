"""Open the web demo (a Gradio page): choose, upload or paint a label map,
generate, click an instance to redraw it, copy a style from a reference
photo, interpolate two styles, download the image and its style file.

    inade app                      # the shipped procedural model, http://127.0.0.1:7860
    inade app --checkpoint runs/procedural --port 8000

Needs the app extra: pip install "inade[app]".
"""
import argparse
import socket


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade app", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="run folder or checkpoint file (default: the shipped procedural model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port; 0 picks a free one")
    parser.add_argument("--concurrency", type=int, default=1, help="generator requests served at once (default 1)")
    args = parser.parse_args(argv)

    from ..errors import InadeError

    if args.concurrency < 1:
        raise InadeError(f"--concurrency must be at least 1, got {args.concurrency}")
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise InadeError('the web demo needs Gradio: pip install "inade[app]"') from None
    from ..app import serve
    from ..synthesis import Synthesizer

    synth = Synthesizer.load(args.checkpoint)
    port = args.port or _free_port(args.host)
    try:
        demo, url = serve(synth, args.host, port, args.concurrency, block=False)
    except OSError as error:
        raise InadeError(f"cannot listen on {args.host}:{port} ({error}); try another --port") from None
    print(f"inade page on {url} (Ctrl-C to stop)", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0
