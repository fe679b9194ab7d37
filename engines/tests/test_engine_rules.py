"""The rules engines/ keeps so that it runs outside the web app (benchmarks, batch scripts, another
frontend): no Django or app imports, and a typed public interface that callers can read."""
import ast
from pathlib import Path

ENGINES = Path(__file__).resolve().parents[1]
APP_PACKAGES = {"django", "rest_framework", "django_q", "echofu", "accounts", "assets", "chat", "generation",
                "limits", "monitoring", "provenance", "training"}


def _modules() -> list[Path]:
    return [path for path in sorted(ENGINES.rglob("*.py")) if "tests" not in path.relative_to(ENGINES).parts]


def _public_functions(tree: ast.Module):
    """Module-level functions and the methods of module-level classes whose names do not start with _."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith("_"):
                    yield f"{node.name}.{member.name}", member


def _unannotated(function: ast.FunctionDef) -> list[str]:
    arguments = function.args
    named = [argument for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs
             if argument.arg not in ("self", "cls")]
    starred = [argument for argument in (arguments.vararg, arguments.kwarg) if argument is not None]
    missing = [argument.arg for argument in named + starred if argument.annotation is None]
    return missing + (["return"] if function.returns is None else [])


def test_no_engines_module_imports_django_or_the_apps():
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.relative_to(ENGINES)}: {name}" for name in names if name.split(".")[0] in APP_PACKAGES]
    assert offenders == []


def test_every_public_engines_function_has_type_hints():
    offenders = [f"{path.relative_to(ENGINES)}: {name} lacks {', '.join(missing)}"
                 for path in _modules()
                 for name, function in _public_functions(ast.parse(path.read_text()))
                 if (missing := _unannotated(function))]
    assert offenders == []


def _engines_names(tree: ast.Module) -> set[str]:
    """The names a test module binds to engines modules (`from engines.x import y`, `import engines.x as y`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "engines":
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.asname for alias in node.names if alias.name.startswith("engines.") and alias.asname}
    return names


def _patched_engine_constants(tree: ast.Module) -> list[str]:
    engines_names = _engines_names(tree)
    patched = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setattr" and node.args):
            continue
        target, *rest = node.args
        if isinstance(target, ast.Constant) and isinstance(target.value, str) and target.value.startswith("engines."):
            name = target.value.rpartition(".")[2]  # monkeypatch.setattr("engines.module.NAME", value)
            spelled = target.value
        elif isinstance(target, ast.Name) and target.id in engines_names and rest and isinstance(rest[0], ast.Constant):
            name = str(rest[0].value)
            spelled = f"{target.id}.{name}"
        else:
            continue
        if name.isupper():
            patched.append(f"line {node.lineno}: {spelled}")
    return patched


def test_no_test_changes_an_engines_module_constant():
    """A module constant that a test changes is state shared by everything in the process: what an
    engine lets its callers vary is a parameter (with the constant as its default)."""
    root = ENGINES.parent
    offenders = [f"{path.relative_to(root)} {where}"
                 for path in sorted(root.glob("*/tests/test_*.py")) + sorted(root.glob("*/tests/conftest.py"))
                 for where in _patched_engine_constants(ast.parse(path.read_text()))]
    assert offenders == []


def _decorator_name(decorator: ast.expr) -> str:
    called = decorator.func if isinstance(decorator, ast.Call) else decorator
    return called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")


def test_no_engines_function_keeps_a_process_wide_cache():
    """functools' caches are module state shared by every caller in the process: what is worth keeping
    belongs to an object its caller holds (a model, a label for one video size)."""
    cached = [f"{path.relative_to(ENGINES)}: {node.name}"
              for path in _modules()
              for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and any(_decorator_name(decorator) in ("lru_cache", "cache") for decorator in node.decorator_list)]
    assert cached == []
