"""The "Your first plugin" walk-through of ``docs/plugins.md`` works as written.

The test reads that section, writes every file block (its first line names the path) into a
new directory, and runs every ``console`` block's ``$`` commands there, in order, as
separate processes with the interpreter running the tests: real ``flask db …`` commands on a
database of the test's own, SQLite and PostgreSQL. Each command must exit 0 and print the
lines the block shows under it (``…`` stands for anything); some commands are followed by a
check of what they made (the migration file, the table).

One command is not run as written: ``pip install -e .`` would change the environment the
tests run in. It is replaced by what an editable install amounts to for Motorpool — the
package's metadata (with its entry points, from the documented ``pyproject.toml``) built by
setuptools, and ``src`` on the import path.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app.config import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
SECTION = "## Your first plugin"
FENCE = re.compile(r"^[ \t]*```(\w+)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
EDITABLE_INSTALL = "pip install -e ."
VERSIONS = Path("src/motorpool_tyres/migrations/versions")
MIGRATION = VERSIONS / "tyres_0001_tyre_checks.py"


def walkthrough(markdown: str) -> str:
    start = markdown.index(SECTION)
    end = markdown.find("\n## ", start + len(SECTION))
    return markdown[start:] if end < 0 else markdown[start:end]


def blocks(section: str) -> list[tuple[str, str]]:
    """``(language, content)`` of each fenced block, its list indentation removed."""
    return [(language, textwrap.dedent(body)) for language, body in FENCE.findall(section)]


def files_of(section: str) -> dict[str, str]:
    """``{path: content}`` for each non-console block whose first line is ``# <path>``."""
    found = {}
    for language, body in blocks(section):
        first = body.splitlines()[0] if body.strip() else ""
        if language != "console" and re.fullmatch(r"# [\w./-]+\.\w+", first):
            found[first[2:]] = body
    return found


def commands_of(section: str) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` for each ``$`` line of the console blocks."""
    commands: list[tuple[str, list[str]]] = []
    for language, body in blocks(section):
        if language != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:].strip(), []))
            elif line.strip():
                commands[-1][1].append(line.rstrip())
    return commands


def shows(output: str, expected: list[str]) -> bool:
    """Each expected line matches a whole output line, in order (``…`` matches anything)."""
    lines = iter(line.rstrip() for line in output.splitlines())
    for wanted in expected:
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("…")))
        if not any(pattern.fullmatch(line) for line in lines):
            return False
    return True


def tables(url: str) -> set[str]:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def revisions(url: str) -> set[str]:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


@pytest.fixture
def walkthrough_database(backend, request, tmp_path) -> str:
    """An empty database of its own on the backend under test."""
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path / "walkthrough.db")
    return request.getfixturevalue("postgres_server").create_database(f"motorpool_walk_{uuid.uuid4().hex[:12]}")


def clean_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The shell of a developer who has Motorpool installed: no settings of the test run."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MOTORPOOL_", "FLASK_")) and key not in {"DATABASE_URL", "PYTHONPATH"}}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "walkthrough",
        "MOTORPOOL_NOTIFICATION_LOG": str(tmp_path / "notifications.log"),
        "PYTHONWARNINGS": "ignore",
    })
    return env


def run(command: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_the_walkthrough_parses_into_files_and_commands():
    section = walkthrough(DOCS.read_text(encoding="utf-8"))
    assert {"pyproject.toml", "src/motorpool_tyres/models.py", "src/motorpool_tyres/plugin.py"} <= set(files_of(section))
    commands = [command for command, _ in commands_of(section)]
    assert EDITABLE_INSTALL in commands
    assert any(command.startswith("flask db -x depends_on=0001_initial migrate --head base") for command in commands)
    assert commands.count("flask db upgrade") == 2 and commands[-1] == "flask db downgrade tyres@base"


def test_the_output_check_needs_every_line_in_order():
    output = "INFO x\nGenerating /tmp/p/src/a.py ...  done\ntyres_0001 (head)\n"
    assert shows(output, ["Generating …src/a.py ...  done", "tyres_0001 (head)"])
    assert not shows(output, ["tyres_0001 (head)", "Generating …src/a.py ...  done"])
    assert not shows(output, ["Generating …src/b.py ...  done"])
    assert not shows(output, ["tyres_0001"])  # a whole line, not a part of one


def test_your_first_plugin_walkthrough_runs_as_written(tmp_path, walkthrough_database):
    section = walkthrough(DOCS.read_text(encoding="utf-8"))
    project = tmp_path / "motorpool-tyres"
    for path, content in files_of(section).items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(content, encoding="utf-8")
    env = clean_environment(tmp_path, walkthrough_database)
    url = walkthrough_database

    def after_migrate(command: str) -> None:
        source = (project / MIGRATION).read_text(encoding="utf-8")
        for line in ("revision = 'tyres_0001'", "down_revision = None", "branch_labels = ('tyres',)",
                     "depends_on = '0001_initial'"):
            assert line in source.splitlines()
        assert "op.create_table('tyre_checks'," in source
        assert "import app" not in source and "from app" not in source  # the file stands alone
        assert "tyre_checks" not in tables(url)
        assert [path.name for path in (project / VERSIONS).iterdir()] == [MIGRATION.name]

    def after_upgrade(command: str) -> None:
        if (project / MIGRATION).exists():
            assert "tyre_checks" in tables(url)
            assert "tyres_0001" in revisions(url)
        else:
            assert {"dispatches", "all_dispatch_details"} <= tables(url) and "tyre_checks" not in tables(url)

    def after_downgrade(command: str) -> None:
        assert "tyre_checks" not in tables(url) and "dispatches" in tables(url)
        assert "tyres_0001" not in revisions(url)

    checks: dict[str, tuple[Callable | None, Callable]] = {
        "flask db -x depends_on=0001_initial migrate": (None, after_migrate),
        "flask db upgrade": (None, after_upgrade),
        "flask db downgrade tyres@base": (None, after_downgrade),
    }
    checked = set()
    for command, expected in commands_of(section):
        if command.startswith("export "):
            name, _, value = shlex.split(command[len("export "):])[0].partition("=")
            env[name] = value
            continue
        if command == EDITABLE_INSTALL:
            built = run(f'"{sys.executable}" -c "from setuptools import setup; setup()" -q egg_info --egg-base src',
                        project, env)
            assert built.returncode == 0, built.stderr
            env["PYTHONPATH"] = str(project / "src")
            continue
        check = next((value for key, value in checks.items() if command.startswith(key)), (None, None))
        if check[0]:
            check[0](command)
        result = run(command, project, env)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command!r} failed:\n{output}"
        assert shows(output, expected), f"{command!r} did not print {expected}:\n{output}"
        if check[1]:
            check[1](command)
            checked.add(next(key for key in checks if command.startswith(key)))
    assert checked == set(checks)  # every check ran: the walk-through still has those steps
