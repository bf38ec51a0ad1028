#!/usr/bin/env bash
# Run the test suite against an AddressSanitizer build of fastbp's compiled core.
#
# The kernels index without bounds checks (validation happens first, in _validate.py);
# ASan proves on the whole suite that no kernel reads or writes outside the buffers it
# was given.  Uses gcc's ASan runtime (Debian libasan8, part of gcc-12); `apt-get
# install libasan8` if it is missing.  Python itself is not instrumented, so the
# runtime is preloaded and leak detection is off (CPython frees little at exit).
#
#   tools/sanitize.sh [pytest args...]      e.g. tools/sanitize.sh -x -q tests/test_losses.py
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

asan_so="$(gcc -print-file-name=libasan.so)"
[ -f "$asan_so" ] || { echo "no libasan.so from gcc; apt-get install libasan8" >&2; exit 2; }

git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar cf -) | tar xf - -C "$work"
cd "$work"
python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet "setuptools>=77" "Cython>=3.1" "mypy>=1.16"
# An installed (not in-place) build, so the package metadata the tests read is there too.
CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g" LDFLAGS="-fsanitize=address" \
  "$work/venv/bin/pip" install --quiet --no-build-isolation --no-deps . >/dev/null
so_files=$(find "$work/venv" -path '*site-packages/fastbp/*.so')
echo "ASan build installed: $(echo "$so_files" | wc -l) extension modules"
for so in $so_files; do  # every module must really be instrumented
  grep -q " U __asan_init" <<< "$(nm -D "$so")" || { echo "not instrumented: $so" >&2; exit 1; }
done

# torch is hidden (its parity tests skip): it is not ours, and under a preloaded ASan
# runtime its C++ exceptions abort the interpreter instead of raising RuntimeError.
mkdir -p "$work/no_torch/torch"
echo 'raise ModuleNotFoundError("torch is hidden under AddressSanitizer", name="torch")' \
  > "$work/no_torch/torch/__init__.py"
export PYTHONPATH="$work/no_torch"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
# numpy keeps freed small blocks in a cache of exact sizes, so an overrun of a
# small array still lands outside its ASan-tracked allocation.
LD_PRELOAD="$asan_so" "$work/venv/bin/python" -c \
  "import fastbp, os; assert fastbp.__file__.startswith('$work/venv'), fastbp.__file__; print('testing', fastbp.__file__)"
# Self-test: the instrumented kernels must trip ASan when handed a buffer too small
# (bypassing _validate.py on purpose), or a clean run below would prove nothing.
if LD_PRELOAD="$asan_so" "$work/venv/bin/python" -c "
import numpy as np
from fastbp import _dense
x = np.ones((4, 40)); w = np.ones((30, 40)); b = np.ones(30)
_dense.linear(x, w, b, np.empty((1, 30)))   # output has 1 row, kernel writes 4
" 2>"$work/selftest.log"; then
  echo "ASan self-test FAILED: an out-of-bounds write went unnoticed" >&2; exit 1
fi
grep -q "AddressSanitizer: heap-buffer-overflow" "$work/selftest.log" \
  || { echo "ASan self-test FAILED:"; cat "$work/selftest.log"; exit 1; } >&2
echo "ASan self-test passed: a deliberate overflow is reported"

# test_memory measures peak RSS, which ASan's quarantine of freed blocks inflates by
# design: it runs in the normal suite (.ci/run), not here.
LD_PRELOAD="$asan_so" "$work/venv/bin/python" -m pytest --deselect tests/test_memory.py -p no:cacheprovider -q "$@"
