"""OptionWatch: a count of the changes to one object's options (see _options.pxd)."""

cimport cython


@cython.auto_pickle(False)  # never copied: a copied object gets a watch of its own
cdef class OptionWatch:
    """Counts the changes to one object's options; a record made from them keeps the count
    it saw and serves again while the count is the same."""

    cpdef void changed(self):
        self.changes += 1
