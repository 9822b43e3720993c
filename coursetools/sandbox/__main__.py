"""`python -m coursetools.sandbox`: start a kernel inside the grading sandbox (see launcher.py)."""
from coursetools.sandbox.launcher import main

main()
