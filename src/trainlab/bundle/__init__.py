"""Saving and loading a trained model safely: a manifest with checksums beside native model files."""

from trainlab.bundle.io import load_bundle, save_bundle
from trainlab.bundle.manifest import Manifest

__all__ = ["Manifest", "load_bundle", "save_bundle"]
