"""fastbp: small, fast, exact backpropagation for dense networks on the CPU.

Values and gradients follow PyTorch's functions and classes of the same names.
"""

from fastbp import _gemm_backend  # noqa: F401  (first: picks the GEMM library, sets MKL up)
from fastbp import functional
from fastbp._gradcheck import GradcheckError, gradcheck
from fastbp.clip import clip_grad_norm_, clip_grad_value_
from fastbp.layers import Layer
from fastbp import _loss_classes
from fastbp._loss_classes import *  # noqa: F401,F403  (every loss class of specs/losses/)
from fastbp.net import Net
from fastbp import optim
from fastbp.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from fastbp._show_config import show_config
from fastbp._version import __version__

__all__ = ["Layer", "Net", "functional", "optim", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "clip_grad_norm_", "clip_grad_value_", "gradcheck", "GradcheckError",
           "show_config", "__version__"]
__all__ += _loss_classes.__all__
