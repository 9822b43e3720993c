# A correct solution that also tries to read the solutions, hidden tests, gradebook, other
# students' work and the instructor's home, to write outside its folder and to use the network.
# expect: full
# <reference solution>
import json
import os
import resource
import socket

for _label, _path in {
    "source notebooks (solutions, hidden tests)": "__COURSE__/source",
    "gradebook": "__COURSE__/gradebook.db",
    "another student's submission": "__COURSE__/submitted/__OTHER__",
    "another student's autograded notebook": "__COURSE__/autograded/__OTHER__",
    "own autograded notebook (hidden tests)": "__COURSE__/autograded/__SELF__",
    "instructor's home": "__HOME__",
    "course configuration": "__COURSE__/nbgrader_config.py",
}.items():
    try:
        _found = os.listdir(_path) if os.path.isdir(_path) else open(_path, "rb").read(64)
        print("SNOOP-READ", _label, _path)
    except Exception as _error:
        print("SNOOP-BLOCKED", _label, type(_error).__name__)

_found = []
for _top, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_top, d) not in ("/proc", "/sys", "/dev", "/usr")
                and d not in ("site-packages", "python3.11")]
    _found += [os.path.join(_top, f) for f in _files if f.endswith((".ipynb", ".db", ".sqlite"))]
print("SNOOP-FOUND", json.dumps(_found))

for _path in ("__COURSE__/planted.txt", "/work/planted.txt", "/usr/planted.txt", "__PACKAGE__/planted.py"):
    try:
        with open(_path, "w") as _file:
            _file.write("planted")
        print("SNOOP-WROTE", _path)
    except Exception as _error:
        print("SNOOP-BLOCKED write", _path, type(_error).__name__)

try:
    socket.create_connection(("127.0.0.1", __PORT__), timeout=3).close()
    print("SNOOP-CONNECTED")
except Exception as _error:
    print("SNOOP-BLOCKED network", type(_error).__name__)

print("SNOOP-LIMITS", json.dumps({
    "uid": os.getuid(),
    "memory": resource.getrlimit(resource.RLIMIT_AS)[0],
    "processes": resource.getrlimit(resource.RLIMIT_NPROC)[0],
    "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
    "pids": [p for p in os.listdir("/proc") if p.isdigit()],
}))
