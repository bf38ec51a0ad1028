# The options a record was made from, kept to tell at the next step, without remaking it,
# that its Python object would make the same record again: the same type, and each option
# attribute the very object it was (objects that cannot change in place: an immutable
# value's identity is its value).  LossArgs and OptimizerState use them.

cdef inline tuple option_snapshot(owner, tuple names):
    """(type(owner), owner's attributes ``names``...), or None when one of them is not a
    str, float, int, bool or None (a 0-d array, say, could change in place)."""
    cdef list snapshot = [type(owner)]
    for name in names:
        value = getattr(owner, name)
        if not (value is None or type(value) is float or type(value) is int
                or type(value) is bool or type(value) is str):
            return None
        snapshot.append(value)
    return tuple(snapshot)


cdef inline bint same_options(owner, tuple names, tuple snapshot) except -1:
    """owner's type and attributes ``names`` are still the objects in ``snapshot``
    (option_snapshot's, or None: never)."""
    if snapshot is None or type(owner) is not snapshot[0]:
        return False
    cdef Py_ssize_t k
    for k in range(len(names)):
        if getattr(owner, names[k]) is not snapshot[k + 1]:
            return False
    return True
