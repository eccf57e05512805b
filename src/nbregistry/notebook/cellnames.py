"""Which names a notebook cell reads and which it writes, by static analysis with :mod:`ast`.

Writes: assignments (plain, augmented, annotated, walrus), ``import``, ``def``/``class``, ``for`` and
``with ... as`` targets, ``del``, and mutation through a name — ``model.fit(X)``, ``df["a"] = 1``,
``obj.attr = 2`` — which counts as both reading and writing ``model``/``df``/``obj`` (methods known not
to mutate, such as ``predict`` or ``head``, are excluded). Function and class bodies contribute their
free names as reads; a name the cell assigned before reading it is not read from outside. Code inside
``%time``/``%timeit``/``%%capture`` is analysed, and ``%registry load REF as VAR`` writes ``VAR``.
Pure Python: nothing here imports IPython.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Iterable

# Methods that only read their object: calling them does not count as writing the name.
READ_ONLY_METHODS = frozenset("""
    predict predict_proba predict_log_proba decision_function score transform inverse_transform
    get_params get_feature_names_out head tail describe info copy to_numpy to_dict to_list tolist
    mean sum std var min max median count nunique unique value_counts items keys values get
    plot hist shape astype sample round abs idxmax idxmin corr query filter groupby agg apply
    isna isnull notna any all argmax argmin reshape ravel flatten dot format startswith endswith
    join split strip lower upper replace
""".split())
# Magics whose argument is Python code that runs in the user namespace.
CODE_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
BUILTINS = frozenset(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___"}


@dataclass
class CellNames:
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    parsed: bool = True


class _Names(ast.NodeVisitor):
    def __init__(self):
        self.reads: set[str] = set()
        self.writes: set[str] = set()

    # --- plain names
    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load):
            self.reads.add(node.id)
        else:
            self.writes.add(node.id)

    # --- mutation through a name: x.attr = ..., x[i] = ..., del x[i], x.method(...)
    def _mutated(self, target):
        base = target
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if isinstance(base, ast.Name):
            self.reads.add(base.id)
            self.writes.add(base.id)

    def visit_Attribute(self, node: ast.Attribute):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._mutated(node)
        self.visit(node.value)

    def visit_Subscript(self, node: ast.Subscript):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._mutated(node)
        self.visit(node.value)
        self.visit(node.slice)

    def visit_Call(self, node: ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr not in READ_ONLY_METHODS:
            self._mutated(func.value) if isinstance(func.value, (ast.Name, ast.Attribute, ast.Subscript)) else None
        magic = _magic_code(node)
        if magic is not None:
            inner = analyze(magic)
            self.reads |= inner.reads
            self.writes |= inner.writes
        loaded = _registry_load_target(node)
        if loaded:
            self.writes.add(loaded)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign):
        if isinstance(node.target, ast.Name):
            self.reads.add(node.target.id)
            self.writes.add(node.target.id)
        else:
            self._mutated(node.target)
            self.visit(node.target)
        self.visit(node.value)

    # --- imports
    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            self.writes.add(alias.asname or alias.name.partition(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom):
        for alias in node.names:
            if alias.name != "*":
                self.writes.add(alias.asname or alias.name)

    # --- scopes: a def/class writes its name; its body contributes free names as reads
    def _scope(self, node, params: Iterable[str] = ()):
        inner = _Names()
        for child in node.body:
            inner.visit(child)
        declared_global = {n for child in ast.walk(node) if isinstance(child, ast.Global) for n in child.names}
        local = (inner.writes | set(params)) - declared_global
        self.reads |= inner.reads - local
        self.writes |= inner.writes & declared_global
        for dec in getattr(node, "decorator_list", []):
            self.visit(dec)

    def visit_FunctionDef(self, node):
        self.writes.add(node.name)
        args = node.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        params += [a.arg for a in (args.vararg, args.kwarg) if a]
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        self._scope(node, params)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef):
        self.writes.add(node.name)
        for base in node.bases:
            self.visit(base)
        self._scope(node)

    def visit_Lambda(self, node: ast.Lambda):
        inner = _Names()
        inner.visit(node.body)
        params = {a.arg for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}
        self.reads |= inner.reads - params

    def _comprehension(self, node):
        inner = _Names()
        for gen in node.generators:
            inner.visit(gen)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                inner.visit(getattr(node, part))
        targets = set()
        for gen in node.generators:
            targets |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        self.reads |= inner.reads - targets
        self.writes |= inner.writes - targets  # walrus inside a comprehension leaks

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


def _magic_code(node: ast.Call) -> str | None:
    """The code argument of ``get_ipython().run_line_magic('time', 'model.fit(X)')`` and friends."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("run_line_magic", "run_cell_magic")):
        return None
    args = node.args
    if not args or not isinstance(args[0], ast.Constant) or args[0].value not in CODE_MAGICS:
        return None
    code = args[-1]
    if isinstance(code, ast.Constant) and isinstance(code.value, str):
        return code.value
    return None


def _registry_load_target(node: ast.Call) -> str | None:
    """``%registry load churn:3 as model`` binds ``model``."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "run_line_magic" and len(node.args) >= 2):
        return None
    name, line = node.args[0], node.args[1]
    if not (isinstance(name, ast.Constant) and name.value == "registry" and isinstance(line, ast.Constant)
            and isinstance(line.value, str)):
        return None
    match = re.match(r"\s*load\s+\S+\s+as\s+([A-Za-z_]\w*)", line.value)
    return match.group(1) if match else None


def analyze(source: str) -> CellNames:
    """The names a cell reads and writes. Unparseable cells read and write nothing (``parsed=False``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return CellNames(parsed=False)
    reads, writes = set(), set()
    for stmt in tree.body:  # a name the cell assigned before reading it is not read from outside
        visitor = _Names()
        visitor.visit(stmt)
        reads |= visitor.reads - writes
        writes |= visitor.writes
    return CellNames(reads=reads, writes=writes)
