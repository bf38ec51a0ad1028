"""WatchedOptions: the base of the classes whose options fill compiled records."""

from __future__ import annotations

from typing import Any

from fastbp._options import OptionWatch


class WatchedOptions:
    """Every attribute set counts as a change of the options (``_watch``, an OptionWatch),
    so that a record made from them (a loss's LossArgs, an optimizer's OptimizerState)
    serves the next step without reading each option again, until one changes.  A copy,
    deep copy or unpickled object gets a watch of its own."""

    _watch: OptionWatch

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        object.__setattr__(self, "_watch", OptionWatch())
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self._watch.changed()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_watch"]
        return state
