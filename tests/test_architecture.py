"""The architecture holds: layers enforced by the linter, one authorization gate in every
public service that acts for someone, audit actions named once in their app's audit_actions.py."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["audit", "entities", "identity", "kyc", "wallets", "payments", "platforms", "ib"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "node_modules", "__pycache__", ".import_linter_cache", "*.png"
        ),
    )
    return copy


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own linter, fixed arguments
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, capture_output=True, text=True, check=False
    )


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def test_an_upward_import_inside_a_function_breaks_the_lint(tmp_path):
    project = _project_copy(tmp_path)
    assert _lint(project).returncode == 0
    # A test module may reach any app: it sets up whole journeys.
    _append(
        project / "identity" / "tests" / "test_crypto.py",
        "def _journey():\n    from ib.services import referral_attribute  # noqa: F401",
    )
    assert _lint(project).returncode == 0
    # Product code may not, not even hidden in a function.
    _append(
        project / "identity" / "selectors.py",
        "def _attribute():\n    from ib.services import referral_attribute  # noqa: F401",
    )
    result = _lint(project)
    assert result.returncode == 1
    assert "identity is not allowed to import ib" in result.stdout
    assert "identity.selectors -> ib.services" in result.stdout


def test_the_kernel_cannot_import_an_app(tmp_path):
    project = _project_copy(tmp_path)
    _append(project / "brokercrm" / "scoping.py", "def _x():\n    import entities.models  # noqa")
    result = _lint(project)
    assert result.returncode == 1
    assert "The kernel imports no app and no project part BROKEN" in result.stdout


# --- the gate -----------------------------------------------------------------------------

GATE_CALLS = {"require", "require_superuser"}

# Public services that take an actor but do not pass the gate yet. The list only shrinks: a
# service gated since is reported, so it leaves the list in the same change.
NOT_YET_GATED = {
    "audit.services.audit_record",  # the recorder of the gate's decisions, not an action
}


def _service_modules() -> list[Path]:
    found = []
    for package in [*APPS, "brokercrm"]:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            if path.name in {"services.py", "logins.py", "bus.py"} or "services" in parts[:-1]:
                found.append(path)
    return sorted(found)


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(getattr(func, "id", None) or getattr(func, "attr", None))
    return names


def _public_services_with_actor() -> dict[str, set[str]]:
    services = {}
    for path in _service_modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.FunctionDef)
                and not node.name.startswith("_")
                and "actor" in [arg.arg for arg in node.args.kwonlyargs]
            ):
                decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in node.decorator_list}
                if "authorised_by_caller" in decorators:
                    continue  # a building block: its caller passed the gate
                services[f"{module}.{node.name}"] = _calls(node)
    return services


def test_every_public_service_that_acts_for_someone_passes_the_gate():
    services = _public_services_with_actor()
    assert len(services) > 40  # the walk finds the services
    ungated = {name for name, calls in services.items() if not calls & GATE_CALLS}
    assert ungated - NOT_YET_GATED == set(), "call brokercrm.gate.require at the top"
    assert NOT_YET_GATED - ungated == set(), "gated now: remove from NOT_YET_GATED"


# --- audit actions ------------------------------------------------------------------------

PRODUCT_PACKAGES = [*APPS, "support", "portal", "brokercrm"]
AUDIT_CALLS = {"audit_record", "audit"}  # audit.services and the kernel's brokercrm.auditing
ACTION_NAME = re.compile(r"[a-z][a-z0-9_]*")
# A dotted literal given as `action=` to any call: what a helper that records hands on.
DOTTED_ACTION = re.compile(r"[a-z_]+\.[a-z0-9_.]+")

# Modules whose actions carry another prefix than their app's label, kept because stored rows
# and their readers use it.
PREFIX_EXCEPTIONS = {
    # Staff grants and client logins (label `accounts`) record `access.*`; identity's login,
    # password and second-factor services import these.
    "brokercrm.accounts.audit_actions": "access",
}


def _product_files() -> list[Path]:
    found = []
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "tests" not in parts and "migrations" not in parts:
                found.append(path)
    return sorted(found)


def _literal_strings(node: ast.expr) -> list[ast.expr]:
    """The string literals and f-strings an expression may evaluate to (through `x if c else
    y` and `a or b`); a name, a call or a subscript is not followed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.JoinedStr):
        return [node]
    if isinstance(node, ast.IfExp):
        return _literal_strings(node.body) + _literal_strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [found for value in node.values for found in _literal_strings(value)]
    return []


def _literal_actions(tree: ast.AST) -> tuple[int, list[tuple[int, str]]]:
    """How many audit calls the tree makes, and where an action is written out as a string."""
    audit_calls, literal = 0, []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
        audit_calls += name in AUDIT_CALLS
        for keyword in call.keywords:
            if keyword.arg != "action":
                continue
            for found in _literal_strings(keyword.value):
                dotted = isinstance(found, ast.Constant) and DOTTED_ACTION.fullmatch(found.value)
                if name in AUDIT_CALLS or dotted:
                    literal.append((found.lineno, ast.unparse(found)))
    return audit_calls, literal


def test_the_literal_action_finder_finds_what_it_should():
    calls, found = _literal_actions(
        ast.parse(
            'audit_record(actor=a, action="kyc.approved")\n'
            'auditing.audit(actor=a, action=f"admin.{label}.deleted")\n'
            'audit_record(actor=a, action="payments.payout_paid" if paid else PAYOUT_FAILED)\n'
            '_save_owned(actor=a, action="entities.brand_created")\n'
            "audit_record(actor=a, action=actions.DEPOSIT_BY_STATUS[status])\n"
            'parser.add_argument("--keep", action="store_true")\n'
        )
    )
    assert calls == 4
    assert [line for line, _ in found] == [1, 2, 3, 4]


def test_audit_actions_are_constants_at_every_call():
    calls, literal = 0, []
    for path in _product_files():
        found_calls, found = _literal_actions(ast.parse(path.read_text()))
        calls += found_calls
        literal += [f"{path.relative_to(ROOT)}:{line}: {text}" for line, text in found]
    assert calls > 80  # the walk finds the recorders
    assert literal == [], "use the constant of the app's audit_actions.py"


def _audit_action_modules() -> list[str]:
    return [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in _product_files()
        if path.name == "audit_actions.py"
    ]


def test_audit_action_constants_carry_their_app_prefix_and_are_unique():
    from django.apps import apps

    modules = _audit_action_modules()
    assert {"identity.audit_actions", "kyc.audit_actions", "brokercrm.accounts.audit_actions"} <= (
        set(modules)
    )
    owner: dict[str, str] = {}
    wrong = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        prefix = PREFIX_EXCEPTIONS.get(module_name) or (
            apps.get_containing_app_config(module_name).label
        )
        constants = {
            name: value
            for name, value in vars(module).items()
            if name.isupper() and isinstance(value, str)
        }
        for name, value in constants.items():
            app, _, action = value.partition(".")
            if app != prefix or not ACTION_NAME.fullmatch(action):
                wrong.append(f"{module_name}.{name} = {value!r}: not {prefix}.<snake_case>")
            elif name != action.upper():
                wrong.append(f"{module_name}.{name} = {value!r}: name it {action.upper()}")
            if value in owner:
                wrong.append(f"{module_name}.{name} = {value!r}: also {owner[value]}")
            owner[value] = f"{module_name}.{name}"
        for name, value in vars(module).items():
            # A mapping from a status or a kind to its action gives only the module's constants.
            if name.isupper() and isinstance(value, dict):
                strays = set(value.values()) - set(constants.values())
                if strays:
                    wrong.append(f"{module_name}.{name} maps to non-constants {sorted(strays)}")
    assert len(owner) > 80
    assert wrong == []
    assert set(PREFIX_EXCEPTIONS) <= set(modules), "an exception for a module that is gone"


def test_admin_actions_are_built_from_the_model_and_one_of_three_verbs():
    from brokercrm.audit_actions import admin_row

    assert admin_row("entities.brand", "changed") == "admin.entities.brand.changed"
    assert admin_row("kyc.kycfile", "deleted") == "admin.kyc.kycfile.deleted"
    with pytest.raises(ValueError, match="Not an admin verb"):
        admin_row("entities.brand", "edited")  # type: ignore[arg-type]
