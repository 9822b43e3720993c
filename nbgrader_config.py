"""nbgrader configuration for the asyncio course. The repository root is the course root.

Instructors run plain nbgrader commands from this folder; see README.md.
"""
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "asyncio-course"
c.CourseDirectory.root = str(COURSE_ROOT)
# One path rule for every folder: <folder>/<NN-topic>/<topic>.ipynb (student folders add <student>/).
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"
# Files beside the notebooks that travel with an assignment (none are needed yet: the
# course's helpers are the installed `course` and `autograder` packages).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Every release notebook starts with the header: name field and how to submit.
c.IncludeHeaderFooter.header = str(COURSE_ROOT / "source" / "header.ipynb")

# Solutions and hidden tests are marked with these delimiters in source/.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell limit while validating and autograding. Checks on the autograder's virtual
# clock finish in milliseconds and stop runaway code after 10 s, so 120 s is generous.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# --- JupyterHub deployment -----------------------------------------------------------
# On a shared JupyterHub, students fetch and submit through nbgrader's exchange folder.
# Set these in /etc/jupyter/nbgrader_config.py on the hub (students' servers read it too):
#
#   c.Exchange.root = "/srv/nbgrader/exchange"   # shared, world-writable with sticky bit (chmod 1777)
#   c.CourseDirectory.course_id = "asyncio-course"
#   c.Exchange.path_includes_course = True        # several courses can share the exchange
#   c.Exchange.timezone = "UTC"
#
# and, on the instructor's server only, this file (course root = this repository).
# Also needed on a real hub (tests/test_exchange.py runs the whole flow in temporary folders):
# * Student ids are the OS user names of the students' servers (nbgrader uses JUPYTERHUB_USER
#   when every server runs as "jovyan", as in the Docker stacks). The exchange needs them
#   to be distinct; `nbgrader submit --student ID` overrides for single-user setups.
# * Students' homes must persist: `fetch_feedback` finds a student's submissions through
#   nbgrader's cache in ~/.local/share/jupyter/nbgrader_cache.
# * Several graders on one course: c.CourseDirectory.groupshared = True (group-writable
#   files); a hub-managed roster: c.Authenticator.plugin_class =
#   "nbgrader.auth.JupyterHubAuthPlugin" (hub groups nbgrader-asyncio-course/formgrade-...).
# * Formgrader for instructors only: `jupyter server extension disable --sys-prefix
#   nbgrader.server_extensions.formgrader` in the students' image.
# * Grading sandbox (section at the end): install bubblewrap on the instructor's server. In
#   a container, bwrap needs unprivileged user namespaces (or grading as root); without it
#   grading still works and says UNSANDBOXED.
# Tests and local runs point the exchange at a private folder with NBGRADER_EXCHANGE.
import os  # noqa: E402

if os.environ.get("NBGRADER_EXCHANGE"):
    c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]
    c.Exchange.path_includes_course = True

# --- Grading runs: sandbox, per-cell failure isolation, scoring rule ----------------------
# (coursetools/grading/ and coursetools/sandbox/; `python3 run.py grade-class` grades a whole
# class in parallel, on Dask, on top of this.) Applies to `nbgrader autograde` only:
# Validate and the students' own kernels are untouched.
# * Student code runs in a bubblewrap sandbox: no network, read-only file system, no course
#   files, caps on memory/processes/CPU. Without bwrap, grading works and logs UNSANDBOXED.
# * Code cells tagged `demo` (lesson measurements nothing later uses) are not run.
# * A cell that hangs, kills the kernel or breaks it costs only its own exercise: the kernel
#   is restarted, the earlier cells that worked are re-run, and grading continues.
# * A test cell earns its points when it raises no error: stderr output does not cost points
#   and displayed values give no partial credit.
# * Test cells and read-only cells a student deleted are put back (and run) instead of
#   silently scoring zero; edited ones are restored (nbgrader does that already).
# * What the grader repaired is recorded in the autograded notebook's metadata
#   (metadata.asyncio_course.grading_events), which the metadata clean-up keeps.
c.Autograde.autograde_preprocessors = [
    "coursetools.grading.execute.RobustExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "coursetools.grading.scoring.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "coursetools.grading.restore_cells.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.OverwriteCells.add_missing_cells = True
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("asyncio_course",)}
# Grading settings (defaults shown):
# c.RobustExecute.skip_demos = True             # do not run cells tagged `demo`
# c.RobustExecute.max_restarts = 8              # kernel restarts per notebook
# Limits of the sandboxed kernel (coursetools/sandbox/limits.py lists them all):
# c.SandboxKernelManager.memory_mb = 2048       # address space per process
# c.SandboxKernelManager.processes = 128        # processes and threads
# c.SandboxKernelManager.cpu_seconds = 600      # CPU time per process
# c.SandboxKernelManager.cpus = 0               # CPU quota (grade-class: CPUs / workers)
# c.SandboxKernelManager.bwrap = ""             # bubblewrap executable (default: on PATH)
# c.SandboxKernelManager.sandbox = False        # grade without the sandbox (not recommended)
