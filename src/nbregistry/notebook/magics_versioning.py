"""The ``%registry`` verbs of versioning, model cards and evaluations: ``revert``, ``rename``, ``delete``,
``card`` (also as ``%%registry card REF`` with the markdown as the cell body), ``evaluate`` and
``evaluations``. ``add_versioning_verbs`` declares their parsers; ``VersioningVerbs`` is a base of
``RegistryMagics`` holding their handlers, which parse, call one core method and return its answer.
"""

from __future__ import annotations

from IPython.core.error import UsageError


def add_versioning_verbs(_verb) -> None:
    """Declare the parsers (``_verb(name, help)`` is magics.py's verb factory)."""
    p = _verb("revert", "A new version that is REF again (same artifacts, no bytes copied), linked to it.")
    p.add_argument("ref")
    p.add_argument("--reason", help="why (recorded with the revert)")
    p = _verb("rename", "Rename a model; the old name is retired and never names another model.")
    p.add_argument("name")
    p.add_argument("new_name")
    p.add_argument("--force", action="store_true", help="rename although aliases are held (needs --reason)")
    p.add_argument("--reason")
    p = _verb("delete", "Delete a version (NAME:VERSION) or, with --model, a whole model (its name is retired).")
    p.add_argument("ref")
    p.add_argument("--model", action="store_true", help="delete the model NAME with all its versions")
    p.add_argument("--force", action="store_true", help="--model: although aliases are held (needs --reason)")
    p.add_argument("--reason")
    p = _verb("card", "Show the card of a model or version (--draft: from the recorded facts). As %%registry card "
                      "REF, the cell body (markdown) becomes the card.")
    p.add_argument("ref")
    p.add_argument("--draft", action="store_true", help="draft one from the recorded facts (not saved)")
    p = _verb("evaluate", "Score versions on the same data: %registry evaluate churn --data X_test y_test "
                          "--metric acc=accuracy_score --name holdout.")
    p.add_argument("refs", nargs="+", help="a model name (its active versions) or refs")
    p.add_argument("--data", nargs=2, required=True, metavar=("X", "Y"), help="the input and target variables")
    p.add_argument("--metric", action="append", required=True, metavar="NAME=FUNCTION",
                   help="a metric: NAME=a function variable fn(y_true, y_pred) (repeatable)")
    p.add_argument("--name", help="the dataset's name (default: data-<fingerprint>)")
    p.add_argument("--method", default="predict", help="the model method to predict with (default predict)")
    p.add_argument("--trust", action="store_true", help="allow unpickling versions someone else saved")
    p = _verb("evaluations", "The evaluations of a version or of every version of a model.")
    p.add_argument("ref")
    p.add_argument("--dataset")



class VersioningVerbs:
    """Handlers of the verbs above; they use ``RegistryMagics``' ``reg``, ``_call``, ``_need`` and ``_var``."""

    def _verb_revert(self, args, cell):
        return self._call(self._need("revert"), args.ref, reason=args.reason)

    def _verb_rename(self, args, cell):
        return self._call(self._need("rename_model"), args.name, args.new_name, force=args.force, reason=args.reason)

    def _verb_delete(self, args, cell):
        if args.model:
            out = self._call(self._need("delete_model"), args.ref, force=args.force, reason=args.reason)
            print(f"deleted model {out['deleted']} ({len(out['versions'])} versions); its name is retired")
            return None
        if args.force or args.reason:
            raise UsageError("%registry delete: --force and --reason go with --model")
        print(f"deleted {self._call(self.reg.delete_version, args.ref)}")
        return None

    def _verb_card(self, args, cell):
        if cell is not None:
            if args.draft:
                raise UsageError("%%registry card: --draft shows a draft; it does not take a cell body")
            return self._call(self._need("set_card"), args.ref, cell.strip("\n") + "\n")
        return self._call(self._need("card"), args.ref, draft=args.draft)

    def _verb_evaluate(self, args, cell):
        metrics = {}
        for token in args.metric:
            key, sep, var = token.partition("=")
            if not sep or not key or not var:
                raise UsageError(f"--metric {token!r}: write NAME=FUNCTION (a function variable of the notebook)")
            metrics[key] = self._var(var, f"metric {key}")
        data = (self._var(args.data[0], "X"), self._var(args.data[1], "y"))
        target = args.refs[0] if len(args.refs) == 1 else args.refs
        return self._call(self._need("evaluate"), target, data=data, metrics=metrics, name=args.name,
                          method=args.method, trust=args.trust)

    def _verb_evaluations(self, args, cell):
        return self._call(self._need("evaluations"), args.ref, dataset=args.dataset)
