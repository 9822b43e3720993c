"""The environments agree: pyproject.toml, environment.yml and the constraints file."""
from __future__ import annotations

import re
import tomllib

from conftest import ROOT

REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)\s*(.*)$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_dependencies() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_normal(m[1]): m[2].replace(" ", "") for r in project["dependencies"] if (m := REQUIREMENT.match(r))}


def _environment_yml() -> tuple[str | None, dict[str, str]]:
    python, packages = None, {}
    dependencies = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in dependencies.splitlines():
        spec = line.strip()[2:].strip() if line.strip().startswith("- ") else ""
        if spec.startswith("python="):
            python = spec.split("=", 1)[1]
        elif spec and spec != "pip":
            match = REQUIREMENT.match(spec)
            packages[_normal(match[1])] = match[2].replace(" ", "")
    return python, packages


def test_environment_yml_lists_the_same_packages_as_pyproject() -> None:
    python, packages = _environment_yml()
    assert python == "3.11", "environment.yml must pin python=3.11 (Binder otherwise gives 3.10)"
    assert packages == _pyproject_dependencies()


def test_environment_yml_uses_conda_forge_only() -> None:
    text = (ROOT / "environment.yml").read_text()
    channels = text.split("channels:")[1].split("dependencies:")[0]
    assert [c.strip("- ").strip() for c in channels.strip().splitlines()] == ["conda-forge"]


def test_constraints_pin_every_dependency_to_a_version_in_range() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normal(name)] = version.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = dict(_pyproject_dependencies())
    for requirement in project["optional-dependencies"]["test"]:
        match = REQUIREMENT.match(requirement)
        everything[_normal(match[1])] = match[2]
    for name, bound in everything.items():
        assert name in pins, f"constraints.txt does not pin {name}"
        if bound.startswith(">="):
            assert _version(pins[name]) >= _version(bound[2:]), f"{name}=={pins[name]} is below {bound}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])
