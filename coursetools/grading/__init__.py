"""Grading: the course's nbgrader preprocessors and `grade-class`, one job per module.

Inside one `nbgrader autograde` (configured in nbgrader_config.py):
  restore_cells.py  put back deleted or re-labelled instructor cells (sanitize step)
  execute.py        run the notebook cell by cell, surviving hostile cells, in the sandbox
  guard.py          the code run inside the kernel: the guard before tests, the health probe
  scoring.py        the course's scoring rule for test cells
  events.py         what the grader repaired, recorded as data in the autograded notebook
  (autograder/demos.py decides which lesson cells tagged `demo` need not run, here and in Validate)

`python3 run.py grade-class` (a whole class, on Dask):
  cli.py            the command line
  scheduling.py     one Dask task per submission, one writer, progress, summary
  submission.py     grading one submission (the task), into a private gradebook
  results.py        the typed results from task to writer
  gradebook.py      private copies, the one writer, snapshots and export
  resume.py         fingerprints and the saved state of a run
  summary.py        progress line, table and counts
  review.py         code worth a human look
  course.py         the course's nbgrader settings
"""
