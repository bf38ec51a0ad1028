from typing_extensions import disjoint_base

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class OptionWatch:
    changes: int
    def changed(self) -> None: ...
