"""The neural-network family: a tabular MLP trained by an explicit PyTorch loop (needs ``trainlab[nn]``).

Importing this package registers the family without importing torch; ``network``, ``loop`` and
``estimator`` import torch and are only imported when a model is built or loaded.
"""

from trainlab.models.neural import family  # noqa: F401  (imported to register)
