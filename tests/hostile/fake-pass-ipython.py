# Leaves the exercise unsolved and rewrites every later cell to `pass` before IPython runs it,
# and swallows every error, hoping the test cells come out clean.
# expect: first-exercise
# <no solution>
_shell = get_ipython()
_shell.input_transformers_cleanup.append(lambda lines: ["pass\n"])
_shell.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
