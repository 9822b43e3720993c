# A correct solution that prints about 20 MB while the cell runs.
# expect: full
# <reference solution>
for line in range(200_000):
    print("flood " * 16)
