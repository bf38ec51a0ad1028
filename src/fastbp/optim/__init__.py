"""Optimizers with torch.optim's update rules, and ``fastbp.optim.lr_scheduler``."""

from fastbp.optim import lr_scheduler
from fastbp.optim._optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]
