"""Every hook in ``app/plugins/hookspecs.py`` is documented and tested.

- ``docs/plugins.md`` has a heading ``### `motorpool_hook(arg1, arg2)` `` per hook, with the
  exact parameter names of the spec (built from ``inspect.signature``), and no heading for a
  hook that does not exist (or no longer has that signature);
- ``tests/test_plugin_hooks.py`` has at least one test function whose name contains the
  hook's full name.

No database needed: these read source files only.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from app.plugins import PROJECT_NAME, hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
HOOK_TESTS = ROOT / "tests" / "test_plugin_hooks.py"
HEADING = re.compile(r"^###\s+`(motorpool_\w+)\((.*?)\)`\s*$", re.MULTILINE)


def hook_specs() -> dict[str, inspect.Signature]:
    """Every function marked with ``@hookspec`` in the hookspecs module, with its signature."""
    return {
        name: inspect.signature(obj)
        for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and hasattr(obj, f"{PROJECT_NAME}_spec")
    }


def expected_heading(name: str, signature: inspect.Signature) -> str:
    """``motorpool_dispatch_assigned(dispatch, technician, metric, mode)``: names only, in order."""
    return f"{name}({', '.join(signature.parameters)})"


def documented_headings(markdown: str) -> dict[str, str]:
    """``{hook name: "name(args)"}`` for every ``### `motorpool_…(…)` `` heading."""
    return {match[1]: f"{match[1]}({match[2]})" for match in HEADING.finditer(markdown)}


def names_of_test_functions(source: str) -> list[str]:
    return [
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


def hooks_tested_by(test_name: str, hooks: list[str]) -> set[str]:
    """The hooks a test's name refers to; the longest name wins when one contains another."""
    found = {hook for hook in hooks if hook in test_name}
    return {hook for hook in found if not any(hook != other and hook in other for other in found)}


HOOKS = sorted(hook_specs())


# --- The checks ---------------------------------------------------------------------------------


def test_the_hookspecs_module_declares_the_hooks_these_checks_cover():
    # Guards against the checks passing vacuously (e.g. a marker renamed and no hook found).
    assert len(HOOKS) >= 12
    assert "motorpool_dispatch_assigned" in HOOKS
    assert expected_heading("motorpool_dispatch_assigned", hook_specs()["motorpool_dispatch_assigned"]) == (
        "motorpool_dispatch_assigned(dispatch, technician, metric, mode)"
    )
    assert all(name.startswith("motorpool_") for name in HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_exact_signature(hook):
    headings = documented_headings(DOCS.read_text(encoding="utf-8"))
    expected = expected_heading(hook, hook_specs()[hook])
    assert hook in headings, f"docs/plugins.md has no heading \"### `{expected}`\""
    assert headings[hook] == expected, (
        f"docs/plugins.md documents {headings[hook]!r} but the hookspec is {expected!r}"
    )


def test_docs_describe_no_hook_that_does_not_exist():
    headings = documented_headings(DOCS.read_text(encoding="utf-8"))
    assert sorted(set(headings) - set(HOOKS)) == []


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test_in_test_plugin_hooks(hook):
    names = names_of_test_functions(HOOK_TESTS.read_text(encoding="utf-8"))
    tested = [name for name in names if hook in hooks_tested_by(name, HOOKS)]
    assert tested, f"tests/test_plugin_hooks.py has no test function whose name contains {hook!r}"


# --- The checks themselves catch what they should -------------------------------------------------


def test_the_docs_check_notices_a_missing_hook_and_a_wrong_signature():
    hooks = hook_specs()
    good = "\n".join(f"### `{expected_heading(name, sig)}`\n\ntext\n" for name, sig in hooks.items())
    assert documented_headings(good) == {name: expected_heading(name, sig) for name, sig in hooks.items()}

    missing = good.replace("### `motorpool_dispatch_assigned(", "### `motorpool_dispatch_assinged(")
    assert "motorpool_dispatch_assigned" not in documented_headings(missing)

    wrong = good.replace("(dispatch, technician, metric, mode)", "(dispatch, technician, mode)")
    assert documented_headings(wrong)["motorpool_dispatch_assigned"] != expected_heading(
        "motorpool_dispatch_assigned", hooks["motorpool_dispatch_assigned"])


def test_the_test_check_matches_full_hook_names_only():
    source = (
        "def test_motorpool_dispatch_created_fires(): pass\n"
        "def helper_motorpool_matchers(): pass\n"
        "class TestSomething:\n"
        "    def test_motorpool_blueprints_inside_a_class(self): pass\n"
    )
    names = names_of_test_functions(source)
    assert names == ["test_motorpool_dispatch_created_fires", "test_motorpool_blueprints_inside_a_class"]
    assert hooks_tested_by("test_motorpool_dispatch_created_fires", HOOKS) == {"motorpool_dispatch_created"}
    # A test of motorpool_dispatch_detail_types is not a test of a shorter hook it happens to contain.
    fake_hooks = ["motorpool_dispatch", "motorpool_dispatch_detail_types"]
    assert hooks_tested_by("test_motorpool_dispatch_detail_types_x", fake_hooks) == {"motorpool_dispatch_detail_types"}
    assert hooks_tested_by("test_motorpool_matcher_typo", HOOKS) == set()
