"""The README's error code table lists exactly the codes the server can answer with."""

import ast
import re
from pathlib import Path

from tenants.errors import V1_CODES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["tenants", "calls", "agents", "callcenter"]
SERVICE_ERROR_DEFAULT_CODE = "invalid"  # ServiceError(message) without code=


def _name(func):
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def raised_codes():
    """Codes of every ServiceError(...) in the source, and every literal error_body("code", ...)."""
    codes = set()
    for directory in SOURCES:
        for path in (ROOT / directory).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Call):
                    continue
                name = _name(node.func)
                if name == "ServiceError":
                    code = next((kw.value for kw in node.keywords if kw.arg == "code"), None)
                    if code is None:
                        codes.add(SERVICE_ERROR_DEFAULT_CODE)
                    elif isinstance(code, ast.Constant):
                        codes.add(code.value)
                    else:
                        raise AssertionError(f"{path}:{node.lineno}: give ServiceError a literal code")
                elif name == "error_body" and node.args and isinstance(node.args[0], ast.Constant):
                    codes.add(node.args[0].value)
    return codes


def server_codes():
    return raised_codes() | {code for _, code in V1_CODES}


def readme_codes():
    text = (ROOT / "README.md").read_text()
    section = text.split("### Error codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_the_collector_finds_codes_raised_in_each_app():
    codes = server_codes()

    assert {"call_not_found", "user_not_found", "conflict", "validation_error", "server_error", "invalid"} <= codes


def test_every_code_the_server_answers_with_is_in_the_readme():
    missing = server_codes() - readme_codes()

    assert not missing, f"add to the README's error code table: {sorted(missing)}"


def test_the_readme_lists_no_code_the_server_never_answers_with():
    stale = readme_codes() - server_codes()

    assert not stale, f"the README's error code table lists codes nothing raises: {sorted(stale)}"
