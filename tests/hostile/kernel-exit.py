# The kernel dies (os._exit) whenever a test calls the student's function.
# expect: first-exercise
# <reference solution>
import os


def __FUNCTION__(*args, **kwargs):
    os._exit(1)
