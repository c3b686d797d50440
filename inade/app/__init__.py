"""A local web page over the Synthesizer: paint or upload a label map, generate,
click instances to redraw them, copy styles from a reference photo."""
from .server import make_server
from .session import Session, Studio

__all__ = ["Session", "Studio", "make_server"]
