"""Data-parallel training over MPI (mpi4py), as Horovod does on CPU clusters.

Every rank holds the whole network and computes the gradient of its part of each global
batch; one Allreduce of a flat buffer per step sums the gradients (and the loss and its
normalizer), and every rank then takes the same optimizer step.  Launch with MPI's own
launcher: ``mpiexec -n 4 python train.py``.
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any

try:
    from mpi4py import MPI
except ImportError as exc:
    raise ImportError("fastbp.distributed needs mpi4py and an MPI library: "
                      "pip install fastbp[mpi]") from exc

import numpy as np

from fastbp import _distributed, losses, training
from fastbp import _validate as v
from fastbp.clip import clip_grad_norm_
from fastbp._typing import ArrayLike, LossFunction, Optimizer
from fastbp.net import Net

__all__ = ["DataParallel"]

_LOSSES = tuple(getattr(losses, name) for name in losses.__all__)
# The slots after the gradients in the flat buffer
_LOSS_SUM, _DIVISOR, _FAILED = range(3)


class DataParallel:
    """Train ``net`` data-parallel over the ranks of ``comm``.

    Construction is collective (every rank of ``comm`` must call it): it checks that every
    rank's Net has the same architecture (layer sizes, activations, bias, dtype; otherwise a
    ValueError on every rank) and copies rank 0's parameters to every rank.

    Parameters
    ----------
    net : Net, the same architecture on every rank
    comm : an mpi4py intracommunicator, default ``MPI.COMM_WORLD``

    Attributes
    ----------
    net, comm, rank, size

    PyTorch equivalent: ``torch.nn.parallel.DistributedDataParallel`` (CPU, gloo/MPI backend).
    """

    def __init__(self, net: Net, comm: MPI.Intracomm | None = None) -> None:
        self.comm = MPI.COMM_WORLD if comm is None else comm
        v.instance_of(self.comm, "comm", MPI.Intracomm, "an mpi4py intracommunicator")
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        try:  # a local error must reach every rank, or the others would wait forever
            record = v.instance_of(net, "net", Net, "a fastbp.Net")._architecture()
        except Exception as exc:
            record = exc
        records = self.comm.allgather(record)
        if isinstance(record, Exception):
            raise record
        for rank, other in enumerate(records):
            if isinstance(other, Exception):
                raise ValueError(f"net: rank {rank} has no valid Net ({other})")
        v.same_on_every_rank(records, "net")
        self.net = net
        self._summed_from, self._summed_loss = None, None  # (see _summed)
        self._targets = training._BatchTargets()  # (see _batch_step)
        pairs = net.parameters()
        self._n = sum(value.size for value, _ in pairs)
        # all the gradients, then the loss sum, the 'mean' divisor and a failure count
        self._flat = np.zeros(self._n + 3, dtype=net.dtype)
        self._grads = _distributed.FlatBuffer([grad for _, grad in pairs], self._flat)
        params = _distributed.FlatBuffer([value for value, _ in pairs], self._flat)
        if self.rank == 0:
            params.gather()
        self.comm.Bcast(self._flat[:self._n], root=0)
        params.scatter()

    def train_step(self, x_local: ArrayLike, y_local: ArrayLike, loss_fn: LossFunction,
                   optimizer: Optimizer, *, max_grad_norm: float | None = None) -> float:
        """One step on the global batch, the ranks' batches concatenated in rank order.

        Collective: every rank calls it with its own ``x_local``, ``y_local`` (any sizes,
        zero included) and the same ``loss_fn`` and optimizer options.  The gradient, the
        loss and the update are those of ``net.train_step`` on the global batch (float
        rounding aside): each rank computes its loss with reduction 'sum' and its part of
        the 'mean' normalizer (the element count, or for class-index cross entropy and
        nll_loss the sum of the class weights of the targets not ignored), one Allreduce
        sums them all, and every rank scales the summed gradient by the global normalizer
        and takes the same optimizer step, so the ranks' parameters stay bit-identical (MPI
        hands every rank the same sum: the standard asks it of reductions, and the
        tests check it).  An error on one rank (a bad target, say)
        raises on every rank, with no parameter changed.

        ``loss_fn`` itself is not called (a copy with reduction 'sum' is), so its
        ``backward()`` does not refer to this step.

        Returns
        -------
        float : the global loss before the update

        PyTorch equivalent: a DistributedDataParallel step, ``opt.zero_grad();
        loss_fn(ddp(x), y).backward(); opt.step()``, with the loss normalized globally.
        """
        return self._train_step(x_local, y_local, None, loss_fn, optimizer, max_grad_norm)

    def _train_step(self, x, y_local, rows, loss_fn, optimizer, max_grad_norm):
        """train_step on x_local = x[rows] (rows: int64 indices, gathered by the compiled
        step; None: x is x_local)."""
        if self.size == 1:
            if rows is not None:
                return self.net._gathered_train_step(x, y_local, rows, loss_fn, optimizer,
                                                     max_grad_norm=max_grad_norm)
            return self.net.train_step(x, y_local, loss_fn, optimizer,
                                       max_grad_norm=max_grad_norm)
        flat, n = self._flat, self._n
        error = None
        try:
            if max_grad_norm is not None:
                max_grad_norm = v.real_number(max_grad_norm, "max_grad_norm")
            mean = v.data_parallel_loss(loss_fn, _LOSSES)
            loss, output = self.net._gradients(x, y_local, self._summed(loss_fn), rows)
            self._grads.gather()
            flat[n + _LOSS_SUM] = loss
            flat[n + _DIVISOR] = _mean_divisor(loss_fn, output, y_local) if mean else 1.0
            flat[n + _FAILED] = 0
        except Exception as exc:
            error = exc
            flat[n + _FAILED] = 1
        self.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        if error is not None:
            raise error
        failed = int(flat[n + _FAILED])
        if failed:
            raise RuntimeError(f"DataParallel.train_step failed on {failed} other rank(s) "
                               "(their error says why); no parameter was changed")
        total = float(flat[n + _LOSS_SUM])
        if mean:
            divisor = float(flat[n + _DIVISOR])
            # Every target ignored (or an empty global batch): torch's loss is nan and its
            # gradient zero.
            value = total / divisor if divisor != 0 else math.nan
            self._grads.scatter(1.0 / divisor if divisor != 0 else 0.0)
        else:
            value = total
            self._grads.scatter()
        if max_grad_norm is not None:  # the global gradient's norm, the same on every rank
            clip_grad_norm_(self.net, max_grad_norm)
        optimizer.step()
        return float(self.net.dtype.type(value))

    def _summed(self, loss_fn):
        """A copy of loss_fn with reduction 'sum', kept while loss_fn's options stay as they
        are (the compiled step then reuses its record)."""
        made_from = (loss_fn, loss_fn._watch.changes)
        if self._summed_from != made_from:
            summed = copy.copy(loss_fn)
            summed.reduction = "sum"
            self._summed_from, self._summed_loss = made_from, summed
        return self._summed_loss

    def fit(self, x: ArrayLike, y: ArrayLike, loss_fn: LossFunction, optimizer: Optimizer,
            **options: Any) -> training.History:
        """``Net.fit`` over the ranks: the same epochs, batches, validation, schedules,
        early stopping and History as ``net.fit(x, y, loss_fn, optimizer, **options)``.

        Collective: every rank passes the same x, y and options.  Each global batch of
        ``batch_size`` samples (the rows ``Net.fit`` would take) is cut into contiguous,
        near-equal parts, rank r training on the r-th, so the trajectory is that of
        single-process ``Net.fit`` with the same seed, float rounding aside.  With
        ``seed=None`` rank 0 draws the seed and every rank uses it.  Only rank 0 shows
        progress and writes ``checkpoint``; callbacks run on every rank and must decide
        alike.  Ctrl-C raises KeyboardInterrupt (mpiexec then ends every rank) instead of
        ending fit after the step, which a single rank cannot do alone.

        PyTorch equivalent: a DistributedDataParallel training loop with a
        DistributedSampler that does not pad.
        """
        if options.get("seed") is None:
            entropy = np.random.SeedSequence().entropy if self.rank == 0 else None
            options["seed"] = self.comm.bcast(entropy, root=0)
        if self.rank != 0:
            options["progress"], options["checkpoint"] = False, None
        # Net.fit's options with its defaults (an unknown one: Net.fit's TypeError)
        bound = inspect.signature(training.fit).bind(self.net, x, y, loss_fn, optimizer,
                                                     **options)
        bound.apply_defaults()
        return training._fit(**bound.arguments, batch_step=self._batch_step,
                             catch_ctrl_c=False)

    def _batch_step(self, x, y, rows, loss_fn, optimizer, max_grad_norm=None):
        """train_step on this rank's part of the global batch x[rows], y[rows]."""
        if isinstance(rows, slice):
            start, stop = rows.start, min(rows.stop, x.shape[0])
            lo, hi = _part(stop - start, self.rank, self.size)
            part = slice(start + lo, start + hi)
        else:
            lo, hi = _part(len(rows), self.rank, self.size)
            part = rows[lo:hi]
        if isinstance(part, slice) or not x.flags.c_contiguous:
            return self.train_step(x[part], y[part], loss_fn, optimizer,
                                   max_grad_norm=max_grad_norm)
        return self._train_step(x, self._targets.gather(y, part), part, loss_fn, optimizer,
                                max_grad_norm)

    def __repr__(self) -> str:
        return f"DataParallel(rank {self.rank} of {self.size}, {self.net!r})"


def _part(n, rank, size):
    """(lo, hi): rank's contiguous part of n rows, the parts near-equal and in rank order."""
    return n * rank // size, n * (rank + 1) // size


def _mean_divisor(loss_fn, output, target) -> float:
    """What reduction='mean' divides this rank's summed loss by, from the loss's own record:
    the element count, the row count for class probabilities, or Σ weight[target] over the
    class indices not ignored (torch's rules)."""
    return float(loss_fn._args(output, target).mean_divisor())
