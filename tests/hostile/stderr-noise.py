# A correct solution that writes to stderr, warns, and prints debug output to stderr whenever
# the tests call it. Noise from the student's own code does not cost points.
# expect: full
import sys
import warnings

print("debug: defining the solution", file=sys.stderr)
warnings.warn("a warning from the student's own cell")
# <reference solution>
_quiet_solution = __FUNCTION__


def __FUNCTION__(*args, **kwargs):
    print("debug: called with", args, file=sys.stderr)
    return _quiet_solution(*args, **kwargs)
