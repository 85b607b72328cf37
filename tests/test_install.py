"""The install that `make` does: `import semvec` gets the package wherever Python starts."""

import os
import subprocess
import sys
from pathlib import Path

import semvec

REPO = Path(semvec.__file__).resolve().parents[1]


def test_a_folder_named_semvec_in_the_working_directory_does_not_hide_the_package(tmp_path):
    """From the folder that holds the clone (named `semvec`, like the package), Python sees a
    folder `semvec/` with no __init__.py first; the installed package must still win over
    that namespace package (a path-based editable install does; setuptools' finder did not)."""
    (tmp_path / "semvec" / "docs").mkdir(parents=True)  # a clone's top folder, as Python sees it
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    shown = subprocess.run(
        [sys.executable, "-c", "import semvec; print(semvec.__file__, semvec.align.__name__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    where, name = shown.stdout.split()
    assert Path(where) == REPO / "semvec" / "__init__.py" and name == "align"
