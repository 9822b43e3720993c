# Allocates memory until the sandbox's memory cap stops it.
# expect: first-exercise
hog = []
while True:
    hog.append(" " * 10**8)
# <reference solution>
