"""fastbp: small, fast, exact backpropagation for dense networks on the CPU.

Values and gradients follow PyTorch's functions and classes of the same names.
"""

from fastbp import functional
from fastbp.layers import Layer
from fastbp.losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss,
                           MSELoss, NLLLoss, SmoothL1Loss)
from fastbp.net import Net
from fastbp.optim import SGD

__version__ = "0.1.0"

__all__ = ["Layer", "Net", "SGD", "functional", "__version__",
           "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss"]
