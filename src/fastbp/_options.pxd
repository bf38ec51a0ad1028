# Whether a record made from an object's options still holds: the object counts the
# changes to its attributes in an OptionWatch (fastbp._watched.WatchedOptions does), and a
# record keeps the count it was made at.  LossArgs and OptimizerState use them.

cdef class OptionWatch:
    cdef readonly unsigned long long changes
    cpdef void changed(self)


cdef inline bint immutable_options(owner, tuple names):
    """owner's attributes ``names`` are all str, float, int, bool or None: objects that
    cannot change in place (a 0-d array, say, could, unseen by the watch)."""
    for name in names:
        value = getattr(owner, name)
        if not (value is None or type(value) is float or type(value) is int
                or type(value) is bool or type(value) is str):
            return False
    return True


cdef inline bint unchanged_since(OptionWatch watch, unsigned long long changes) noexcept:
    """``watch`` (None: never) has counted no change since it stood at ``changes``."""
    return watch is not None and watch.changes == changes
