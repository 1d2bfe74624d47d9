"""Every public name has a docstring, and every example in those docstrings runs (doctest).

Public names: what the public modules export (``__all__``, else every name not starting with
``_``) that minigrad defines, and for each class its public methods and properties (a method
may inherit its parent's docstring, as ``help()`` shows it: ``nn.Linear.forward`` documents
itself through ``nn.Module.forward``). Examples are run with ``minigrad`` (also as ``mg``),
``numpy`` as ``np``, ``nn`` and ``F`` in scope, after ``minigrad.manual_seed(0)``.
"""

from __future__ import annotations

import doctest
import importlib
import inspect

import numpy as np
import pytest

import minigrad as mg

MODULES = [
    "minigrad", "minigrad.autograd", "minigrad.autograd.functional", "minigrad.func", "minigrad.nn",
    "minigrad.nn.functional", "minigrad.nn.init", "minigrad.nn.utils", "minigrad.optim",
    "minigrad.optim.lr_scheduler", "minigrad.utils.data", "minigrad.datasets", "minigrad.viz", "minigrad.runtime",
]


def _ours(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("minigrad")


def _exported(mod):
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    for name in names:
        obj = getattr(mod, name)
        if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)) or not _ours(obj):
            continue
        yield name, obj


def _members(cls):
    """(name, the object as the class holds it) of its public methods and properties, once per
    defining class (an inherited method is checked where it is defined)."""
    seen = set()
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or inspect.isfunction(value) or inspect.ismethoddescriptor(value) \
                    and type(value).__name__ != "member_descriptor":
                yield klass, name, value


def public_objects() -> dict:
    """{qualified name: object} of every public module, function, class, method and property, each once."""
    found, seen = {}, set()
    for modname in MODULES:
        mod = importlib.import_module(modname)
        found[modname] = mod
        for name, obj in _exported(mod):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            found[f"{modname}.{name}"] = obj
            if inspect.isclass(obj):
                for klass, member, value in _members(obj):
                    if id(value) not in seen:
                        seen.add(id(value))
                        found[f"{klass.__module__}.{klass.__qualname__}.{member}"] = (klass, member, value)
    return found


def _doc(entry) -> str | None:
    if isinstance(entry, tuple):  # a member: as help() shows it (inherited from a parent if not its own)
        klass, member, value = entry
        doc = value.__doc__
        if not (doc or "").strip():
            doc = inspect.getdoc(getattr(klass, member, None))
        return doc
    return entry.__doc__


PUBLIC = public_objects()


def test_the_walk_finds_what_a_learner_uses():
    for name in ("minigrad.Tensor", "minigrad.tensor", "minigrad.no_grad", "minigrad.nn.Linear",
                 "minigrad.optim.SGD", "minigrad.utils.data.DataLoader", "minigrad.viz.draw_graph",
                 "minigrad.set_num_threads", "minigrad.autograd.grad"):
        assert name in PUBLIC, name
    members = [k for k in PUBLIC if k.startswith("minigrad.tensor.Tensor.")]
    for m in ("backward", "grad_fn", "requires_grad", "view", "reshape", "matmul", "clamp", "zero_", "shape"):
        assert any(k.endswith("." + m) for k in members) or m == "grad_fn", m
    assert len(PUBLIC) > 600


def test_every_public_name_has_a_docstring():
    missing = sorted(k for k, v in PUBLIC.items() if not (_doc(v) or "").strip())
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_documentation_tables_name_existing_members():
    from minigrad import _function_docs, _tensor_docs
    from minigrad.nn import _docs as nn_docs

    assert not [n for n in _tensor_docs.DOCS if n not in vars(mg.Tensor)]
    assert not [(c.__name__, n) for c, docs in nn_docs.METHODS.items() for n in docs if n not in vars(c)]
    assert not [(c.__name__, n) for (c, n) in _function_docs._members() if n not in vars(c)]


def test_tensor_attributes_that_are_slots_are_documented_on_the_class():
    doc = mg.Tensor.__doc__
    for slot in ("grad", "grad_fn"):
        assert f"{slot}:" in doc or f"``{slot}``" in doc, slot


def _examples():
    parser = doctest.DocTestParser()
    seen, out = set(), []
    for name, entry in PUBLIC.items():
        doc = _doc(entry)
        if not doc or id(doc) in seen or ">>>" not in doc:
            continue
        seen.add(id(doc))
        if parser.get_examples(doc):
            out.append((name, doc))
    return out


EXAMPLES = _examples()


def test_there_are_many_examples():
    assert len(EXAMPLES) > 100


@pytest.fixture
def fresh_state():
    dtype, threads = mg.get_default_dtype(), mg.get_num_threads()
    mg.manual_seed(0)
    yield
    mg.set_default_dtype(dtype)
    mg.set_num_threads(threads)
    mg.autograd.graph._state.enabled = True


@pytest.mark.parametrize("name,doc", EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_docstring_examples_run(name, doc, fresh_state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    globs = {"minigrad": mg, "mg": mg, "np": np, "nn": mg.nn, "F": mg.nn.functional}
    test = doctest.DocTestParser().get_doctest(doc, globs, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
