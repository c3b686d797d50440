"""Sampling and per-instance style control."""
from .scene import Scene, load_image, load_scene
from .styles import Styles
from .synthesizer import Synthesizer

__all__ = ["Scene", "Styles", "Synthesizer", "load_image", "load_scene"]
