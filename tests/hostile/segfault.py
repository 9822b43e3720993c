# A segfault through ctypes while the solution cell runs: the kernel dies.
# expect: first-exercise
import ctypes

ctypes.string_at(0)
# <reference solution>
