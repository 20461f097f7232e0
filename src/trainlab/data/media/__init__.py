"""Pictures and sound as columns of file paths: which files are media, decoding with a per-run cache, and the
fixed-length features of each kind.

``kind_of(series)`` tells whether a column holds image or audio paths (the file suffix decides, as it does for
the text files of a class folder); ``scan`` decodes every file once, names the unreadable ones and fixes the
decoding parameters (plain data kept in the schema); ``media_features`` turns a column into the columns the
models see: raw pixels or log-mel frames for the neural network, and recipes' features for the classic families.
"""

from __future__ import annotations

from trainlab.data.media.features import block_columns, media_blocks, media_features, neural_columns, raw_names
from trainlab.data.media.files import AUDIO_SUFFIXES, IMAGE_SUFFIXES, MEDIA_ROLES, kind_of, kind_of_path
from trainlab.data.media.scan import MediaScan, scan

__all__ = [
    "AUDIO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MEDIA_ROLES",
    "MediaScan",
    "block_columns",
    "kind_of",
    "kind_of_path",
    "media_blocks",
    "media_features",
    "neural_columns",
    "raw_names",
    "scan",
]
