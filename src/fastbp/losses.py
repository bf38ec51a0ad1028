"""Loss classes: keep the options, call ``functional``, keep the last gradient.

``loss_fn(input, target)`` computes the value and, in the same pass, the gradient that
``loss_fn.backward()`` then returns.  Options are validated once, in the constructor, and
kept as attributes (``reduction``, ``beta``, ``delta``, ``weight``, ``ignore_index``,
``label_smoothing``, ``pos_weight``); the PyTorch equivalent of each class is the
``torch.nn`` class of the same name.  Each loss is defined by its spec
(specs/losses/<name>.py), from which the build generates its class.
"""

from fastbp import _loss_classes
from fastbp._loss_classes import *  # noqa: F401,F403

__all__: list[str] = []
__all__ += _loss_classes.__all__
