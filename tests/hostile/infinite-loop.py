# An endless loop at the top of the solution cell: the cell hits the time limit and is stopped.
# expect: first-exercise
while True:
    pass
# <reference solution>
