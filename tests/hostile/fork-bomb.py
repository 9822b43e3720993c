# Forks until the sandbox's process cap stops it; the children stay behind.
# expect: first-exercise
import os

while True:
    os.fork()
# <reference solution>
