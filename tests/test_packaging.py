"""The environments agree: pyproject.toml, environment.yml (Binder) and the constraints file."""
from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT

REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)\s*(.*)$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(lines: list[str]) -> dict[str, str]:
    return {_normal(m[1]): m[2].replace(" ", "") for line in lines if (m := REQUIREMENT.match(line))}


def _pyproject_dependencies() -> dict[str, str]:
    return _requirements(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normal(name)] = version.strip()
    return pins


def test_binder_installs_the_tested_set_through_pip() -> None:
    """conda gives Python 3.11 and pip only; pip installs pyproject's dependencies within constraints.txt."""
    dependencies = _environment()["dependencies"]
    conda = [d for d in dependencies if isinstance(d, str)]
    assert conda == ["python=3.11", "pip"], "Python 3.11 and pip from conda (Binder otherwise gives 3.10), nothing else"
    [pip] = [d["pip"] for d in dependencies if isinstance(d, dict)]
    options = [line for line in pip if line.startswith("-")]
    assert options == ["-c constraints.txt"], "every pip package is held to the tested versions"
    assert _requirements([line for line in pip if not line.startswith("-")]) == _pyproject_dependencies()


def test_environment_yml_uses_conda_forge_only() -> None:
    assert _environment()["channels"] == ["conda-forge"]


def test_constraints_pin_every_dependency_to_a_version_in_range() -> None:
    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = dict(_pyproject_dependencies())
    for extra in project["optional-dependencies"].values():
        everything.update(_requirements(extra))
    for name, bound in everything.items():
        assert name in pins, f"constraints.txt does not pin {name}"
        if bound.startswith(">="):
            assert _version(pins[name]) >= _version(bound[2:]), f"{name}=={pins[name]} is below {bound}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])
