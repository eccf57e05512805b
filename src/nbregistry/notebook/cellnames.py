"""Which names a notebook cell reads and which it writes, by static analysis with :mod:`ast`.

The analysis follows execution order inside the cell: a name is *read* when it is loaded before the
cell has bound it (so it must come from an earlier cell), and *written* when the cell leaves it
bound. Concretely:

- assignments bind after their right-hand side is evaluated (``x = x + 1`` reads ``x``); augmented
  assignment reads then writes; ``for`` and ``with ... as`` targets, ``except ... as`` names, walrus
  targets, imports, ``def`` and ``class`` bind; ``except`` names are unbound again after the handler;
- ``del x`` unbinds ``x`` (the cell does not produce it); ``del df["a"]`` mutates ``df``;
- comprehension variables stay inside the comprehension (only its first iterable and walrus
  targets touch the cell's names);
- mutation through a name — ``model.fit(X)``, ``df["a"] = 1``, ``obj.attr = 2`` — reads and writes
  it (methods known not to mutate, such as ``predict`` or ``head``, are excluded);
- function and lambda bodies run later: their free names count as reads unless the cell binds them;
  names a function declares ``global`` and assigns are writes of the cell; class bodies run at once;
- code inside ``%time``/``%timeit``/``%%capture`` is analysed, and ``%registry load REF as VAR``
  writes ``VAR``.

Pure Python: nothing here imports IPython.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

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


class _Flow:
    """One scope walked in execution order: ``bound`` is what it has bound so far."""

    def __init__(self, *, function: bool = False):
        self.function = function
        self.bound: set[str] = set()
        self.ever_bound: set[str] = set()
        self.reads: set[str] = set()          # loaded before this scope bound them
        self.deferred: set[str] = set()       # free names of bodies that run later (def, lambda)
        self.global_writes: set[str] = set()  # assigned by (nested) functions declaring them global
        self.declared: set[str] = set()       # ``global``/``nonlocal`` names of this function scope

    # --- names
    def read(self, name: str, local: frozenset = frozenset()):
        if name not in local and name not in self.bound:
            self.reads.add(name)

    def bind(self, name: str, local: frozenset = frozenset()):
        if name in local:
            return
        self.bound.add(name)
        self.ever_bound.add(name)

    def unbind(self, name: str):
        self.bound.discard(name)

    # --- statements
    def body(self, stmts):
        for stmt in stmts:
            self.stmt(stmt)

    def stmt(self, node):  # noqa: C901 - one branch per statement kind
        if isinstance(node, ast.Assign):
            self.expr(node.value)
            for target in node.targets:
                self.target(target)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.read(node.target.id)
                self.expr(node.value)
                self.bind(node.target.id)
            else:
                self.expr(node.value)
                self.target(node.target)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value)
                self.target(node.target)
            if not self.function:
                self.expr(node.annotation)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            self.target(node.target)
            self.body(node.body)
            self.body(node.orelse)
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self.body(node.body)
            self.body(node.orelse)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.body(node.body)
            self.body(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.body(node.body)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.body(node.body)
            for handler in node.handlers:
                if handler.type is not None:
                    self.expr(handler.type)
                if handler.name:
                    self.bind(handler.name)
                self.body(handler.body)
                if handler.name:  # Python deletes the name when the handler ends
                    self.unbind(handler.name)
                    self.ever_bound.discard(handler.name)
            self.body(node.orelse)
            self.body(node.finalbody)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                self.bind(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    self.bind(alias.asname or alias.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                self.expr(dec)
            self._arguments(node.args)
            if node.returns is not None and not self.function:
                self.expr(node.returns)
            self._function(node.args, node.body)
            self.bind(node.name)
        elif isinstance(node, ast.ClassDef):
            for part in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
                self.expr(part)
            inner = _Flow()
            inner.body(node.body)  # a class body runs now; its names stay in the class
            for name in inner.reads:
                self.read(name)
            self.deferred |= inner.deferred
            self.global_writes |= inner.global_writes
            self.bind(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            if self.function:
                self.declared.update(node.names)
        elif isinstance(node, getattr(ast, "Match", ())):
            self.expr(node.subject)
            for case in node.cases:
                self._pattern(case.pattern)
                if case.guard is not None:
                    self.expr(case.guard)
                self.body(case.body)
        else:  # Expr, Return, Raise, Assert, ...: their expressions, in order
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
                elif isinstance(child, ast.stmt):
                    self.stmt(child)

    def target(self, node, local: frozenset = frozenset()):
        if isinstance(node, ast.Name):
            self.bind(node.id, local)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.target(elt, local)
        elif isinstance(node, ast.Starred):
            self.target(node.value, local)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Subscript):
                self.expr(node.slice, local)
            self.expr(node.value, local)
            self._mutated(node, local)

    def delete(self, node):
        if isinstance(node, ast.Name):
            self.unbind(node.id)
            self.ever_bound.discard(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.delete(elt)
        else:
            self.target(node)

    def _mutated(self, node, local: frozenset = frozenset()):
        """``x.attr = ...``, ``x[i] = ...``, ``x.method(...)``: reads and writes ``x``."""
        base = node
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if isinstance(base, ast.Name) and base.id not in local:
            self.read(base.id)
            self.bind(base.id)

    def _arguments(self, args: ast.arguments):
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.expr(default)

    def _function(self, args: ast.arguments, body):
        """A function or lambda body: its free names are read when it runs (later)."""
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a}
        inner = _Flow(function=True)
        inner.bound |= params
        if isinstance(body, list):
            inner.body(body)
        else:
            inner.expr(body)
        local = (inner.ever_bound | params) - inner.declared
        self.deferred |= (inner.reads | inner.deferred) - local
        self.global_writes |= (inner.ever_bound & inner.declared) | inner.global_writes

    def _pattern(self, pattern):
        for node in ast.walk(pattern):
            name = getattr(node, "name", None) if isinstance(node, (ast.MatchAs, ast.MatchStar)) else None
            if isinstance(node, ast.MatchMapping):
                name = node.rest
            if isinstance(node, ast.MatchValue):
                self.expr(node.value)
            if isinstance(node, ast.MatchClass):
                self.expr(node.cls)
            if name:
                self.bind(name)

    # --- expressions
    def expr(self, node, local: frozenset = frozenset()):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.read(node.id, local)
            else:
                self.bind(node.id, local)
        elif isinstance(node, ast.NamedExpr):
            self.expr(node.value, local)
            self.bind(node.target.id)  # a walrus binds in the enclosing scope, even in a comprehension
        elif isinstance(node, ast.Lambda):
            self._arguments(node.args)
            self._function(node.args, node.body)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self._comprehension(node, local)
        elif isinstance(node, ast.Call):
            self.expr(node.func, local)
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.expr(arg, local)
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr not in READ_ONLY_METHODS:
                self._mutated(func.value, local)
            magic = _magic_code(node)
            if magic is not None:
                inner = analyze(magic)
                for name in inner.reads:
                    self.read(name, local)
                for name in inner.writes:
                    self.bind(name, local)
            loaded = _registry_load_target(node)
            if loaded:
                self.bind(loaded, local)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, local)
                elif isinstance(child, ast.comprehension):  # not reached: comprehensions are above
                    pass

    def _comprehension(self, node, local: frozenset):
        inner_local = set(local)
        for i, gen in enumerate(node.generators):
            self.expr(gen.iter, frozenset(inner_local) if i else local)  # the first runs in the enclosing scope
            inner_local |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
            for cond in gen.ifs:
                self.expr(cond, frozenset(inner_local))
        frozen = frozenset(inner_local)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                self.expr(getattr(node, part), frozen)


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
    flow = _Flow()
    flow.body(tree.body)
    reads = flow.reads | (flow.deferred - flow.ever_bound)
    return CellNames(reads=reads, writes=flow.bound | flow.global_writes)
