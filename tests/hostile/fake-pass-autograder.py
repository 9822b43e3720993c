# Leaves the exercise unsolved and replaces the autograder's checks with ones that always pass:
# by assignment, past the module's guard, and by swapping the module in sys.modules.
# expect: first-exercise
# <no solution>
import sys
import types

import autograder


def _always_passes(*args, **kwargs):
    return None


try:
    autograder.check = _always_passes
except Exception as refused:
    print("refused:", type(refused).__name__)
types.ModuleType.__setattr__(autograder, "check", _always_passes)
_fake = types.ModuleType("autograder")
_fake.__dict__.update({name: getattr(autograder, name) for name in autograder.__all__})
for _name in autograder.__all__:
    if _name.startswith(("check", "assert_")):
        setattr(_fake, _name, _always_passes)
sys.modules["autograder"] = _fake
