"""The README's configuration table lists exactly the environment variables the code reads."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settings_read():
    """Every name read with env.<kind>("NAME", ...) or env("NAME") in callcenter/settings.py."""
    tree = ast.parse((ROOT / "callcenter" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        func = node.func
        reads_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
        )
        if reads_env:
            names.add(node.args[0].value)
    return names


def serve_script_reads():
    """The ${NAME:-default} variables bin/serve reads."""
    return set(re.findall(r"\$\{([A-Z_]+):-", (ROOT / "bin" / "serve").read_text()))


def readme_table():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))


def test_the_collectors_find_what_they_should():
    assert {"DATABASE_URL", "SECRET_KEY", "CALL_CREATE_RATE", "LOG_LEVEL"} <= settings_read()
    assert {"HOST", "PORT"} <= serve_script_reads()


def test_every_setting_the_code_reads_is_documented():
    missing = (settings_read() | serve_script_reads()) - readme_table()

    assert not missing, f"add to the README's configuration table: {sorted(missing)}"


def test_the_readme_documents_no_setting_the_code_does_not_read():
    stale = readme_table() - (settings_read() | serve_script_reads())

    assert not stale, f"the README documents settings nothing reads: {sorted(stale)}"
