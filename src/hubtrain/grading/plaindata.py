"""Learner answers as plain data: how they leave the learner's kernel and reach the judge's.

`hubtrain grade` never trusts a verdict reached inside the learner's kernel: an
answer cell can replace the checker (`hubcheck.task = ...`) or define an object
that equals everything. So the learner's kernel only *exports* its answers (the
names each locked cell reads) as plain data, and a fresh judge kernel, which runs
nothing but the course's own locked cells, rebuilds them and runs the checks.

This file runs inside kernels: its source is sent to the learner's kernel (to
export, and to answer calls to the learner's functions) and to the judge's (to
load). So it needs only the standard library; numpy and zarr are used only when
an answer is one of theirs.

What travels, and comes back as the same type:
- None, bool, int, float (nan and infinities too), complex, str, bytes;
- list, tuple, set, frozenset, dict (any keys of these types), OrderedDict, Counter;
- pathlib paths, datetime/date/time;
- numpy arrays (not of objects) and numpy scalars;
- a zarr array in a store with an address (the judge opens the same array, read-only);
- a function: the judge gets a stand-in that sends each call's arguments to the
  learner's kernel and gets back only the plain-data result (or the exception's
  type and message).
Exact types only: a subclass (a str that claims to equal everything) does not
travel; the judge gets a placeholder that fails every check it is used in.
"""

from __future__ import annotations

import base64
import builtins
import collections
import datetime
import json
import math
import pathlib
import types
from typing import Any

MIME = "application/vnd.hubtrain.answers+json"
PROMPT = "\x1bhubtrain-call:"
# Deep enough for any honest answer, shallow enough to never hit Python's recursion limit.
MAX_DEPTH = 40

_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType)
_PATHS = {"PosixPath": pathlib.PosixPath, "PurePosixPath": pathlib.PurePosixPath}
_TIMES = {"datetime": datetime.datetime, "date": datetime.date, "time": datetime.time}


class Unsendable:
    """Stands in for an answer the grader could not receive; every use of it fails."""

    def __init__(self, name: str, kind: str) -> None:
        object.__setattr__(self, "_why", f"{name} is a {kind}, which the grader cannot receive")

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            object.__getattribute__(self, "_why")
            + ": answers must be plain values (numbers, strings, lists, dicts, sets, "
            "numpy arrays) or functions"
        )

    def __getattr__(self, name: str) -> Any:
        return self._fail()

    def __repr__(self) -> str:
        return "<" + object.__getattribute__(self, "_why") + ">"

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _fail
    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = __call__ = _fail
    __int__ = __float__ = __index__ = __str__ = __format__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __floordiv__ = __mod__ = __neg__ = __abs__ = _fail


def _kind(value: Any) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _zarr_address(value: Any) -> dict[str, Any] | None:
    store = value.store
    fs = getattr(store, "fs", None)
    if fs is not None:
        url = fs.unstrip_protocol(store.path)
    elif getattr(store, "root", None) is not None:
        url = str(store.root)
    else:
        return None
    return {"$zarr": {"url": url, "path": value.path}}


def _special(value: Any) -> dict[str, Any] | None:
    """numpy and zarr values, checked by module name so neither has to be imported."""
    module = type(value).__module__
    if module == "numpy":
        import numpy

        if type(value) is numpy.ndarray and value.dtype != object:
            data = numpy.ascontiguousarray(value).tobytes()
            shape = list(value.shape)
            return {"$ndarray": {"dtype": value.dtype.str, "shape": shape, "data": _b64(data)}}
        if isinstance(value, numpy.generic) and value.dtype != object:
            return {"$npscalar": {"dtype": value.dtype.str, "data": _b64(value.tobytes())}}
    if module.startswith("zarr.") and type(value).__name__ == "Array":
        import zarr

        if type(value) is zarr.Array:
            return _zarr_address(value)
    return None


def encode(value: Any, name: str = "the answer", depth: int = 0) -> Any:
    """`value` as JSON-able data that `decode` turns back into the same type and value."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if depth > MAX_DEPTH:
        return {"$unsendable": "value nested too deeply"}
    inner = depth + 1
    if kind is list:
        return [encode(v, name, inner) for v in value]
    if kind in (tuple, set, frozenset):
        items = [encode(v, name, inner) for v in value]
        return {"$" + kind.__name__: items}
    if kind in (dict, collections.OrderedDict, collections.Counter):
        pairs = [[encode(k, name, inner), encode(v, name, inner)] for k, v in value.items()]
        return {"$" + kind.__name__: pairs}
    if kind is complex:
        return {"$complex": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        return {"$bytes": _b64(value)}
    if kind.__name__ in _PATHS and _PATHS[kind.__name__] is kind:
        return {"$path": [kind.__name__, str(value)]}
    if kind.__name__ in _TIMES and _TIMES[kind.__name__] is kind:
        return {"$time": [kind.__name__, value.isoformat()]}
    if depth == 0 and kind in _FUNCTIONS:
        return {"$function": name}
    special = _special(value)
    if special is not None:
        return special
    return {"$unsendable": _kind(value)}


def _decode_special(tag: str, body: Any, name: str) -> Any:
    if tag == "$ndarray":
        import numpy

        flat = numpy.frombuffer(base64.b64decode(body["data"]), dtype=numpy.dtype(body["dtype"]))
        return flat.reshape(body["shape"]).copy()
    if tag == "$npscalar":
        import numpy

        raw = base64.b64decode(body["data"])
        return numpy.frombuffer(raw, dtype=numpy.dtype(body["dtype"]))[0]
    if tag == "$zarr":
        import zarr

        return zarr.open_array(store=body["url"], path=body["path"], mode="r")
    return Unsendable(name, str(body))


def decode(data: Any, name: str = "the answer", call: Any = None) -> Any:
    """The value `encode` made `data` from; `call(name, args, kwargs)` runs a learner function."""
    if not isinstance(data, dict):
        if isinstance(data, list):
            return [decode(v, name, call) for v in data]
        return data
    ((tag, body),) = data.items()
    if tag in ("$tuple", "$set", "$frozenset"):
        maker = {"$tuple": tuple, "$set": set, "$frozenset": frozenset}[tag]
        return maker(decode(v, name, call) for v in body)
    if tag in ("$dict", "$OrderedDict", "$Counter"):
        pairs = [(decode(k, name, call), decode(v, name, call)) for k, v in body]
        if tag == "$Counter":
            return collections.Counter(dict(pairs))
        return collections.OrderedDict(pairs) if tag == "$OrderedDict" else dict(pairs)
    if tag == "$int":
        return int(body)
    if tag == "$float":
        return float(body)
    if tag == "$complex":
        return complex(float(body[0]), float(body[1]))
    if tag == "$bytes":
        return base64.b64decode(body)
    if tag == "$path":
        return _PATHS[body[0]](body[1])
    if tag == "$time":
        return _TIMES[body[0]].fromisoformat(body[1])
    if tag == "$function" and call is not None:
        return _stand_in(body, call)
    return _decode_special(tag, body, name)


def _stand_in(name: str, call: Any) -> Any:
    def learner_function(*args: Any, **kwargs: Any) -> Any:
        return call(name, args, kwargs)

    learner_function.__name__ = learner_function.__qualname__ = name
    return learner_function


# --- in the learner's kernel -------------------------------------------------


def _publish(payload: dict[str, Any]) -> None:
    from IPython.display import display

    display({MIME: payload}, raw=True)


def export(names: list[str], namespace: dict[str, Any]) -> None:
    """Send the answers `names` (those defined) to the grader, as plain data."""
    answers = {name: encode(namespace[name], name) for name in names if name in namespace}
    _publish({"answers": answers})


def answer_call(request: str, namespace: dict[str, Any]) -> None:
    """Run one call the judge asked for and send back its result or its exception."""
    asked = json.loads(request)
    try:
        function = namespace[asked["name"]]
        args = decode(asked["args"])
        kwargs = decode(asked["kwargs"])
        result = function(*args, **kwargs)
    except Exception as exc:
        _publish({"error": [type(exc).__name__, str(exc)]})
        return
    # depth 1: a function it returns does not travel (only named answers have stand-ins).
    _publish({"value": encode(result, f"the result of {asked['name']}()", 1)})


# --- in the judge's kernel ----------------------------------------------------


def _raise_like(ename: str, message: str) -> BaseException:
    """The learner function's exception again, as the same built-in type where it is one."""
    kind = getattr(builtins, ename, None)
    if (
        isinstance(kind, type)
        and issubclass(kind, Exception)
        and kind not in (StopIteration, StopAsyncIteration)
    ):
        try:
            return kind(message)
        except Exception:
            pass
    return RuntimeError(f"{ename}: {message}")


def call_learner(name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Call the learner's function `name` in the learner's kernel (through the grader)."""
    request = {"name": name, "args": encode(list(args)), "kwargs": encode(dict(kwargs))}
    reply = json.loads(input(PROMPT + json.dumps(request)))
    if "error" in reply:
        raise _raise_like(*reply["error"])
    return decode(reply["value"], f"the result of {name}()", call_learner)


def load(text: str, names: list[str], namespace: dict[str, Any]) -> None:
    """Bind the exported answers; a declared name the learner had not defined is unbound."""
    answers = json.loads(text)
    for name in names:
        if name not in answers:
            namespace.pop(name, None)
            continue
        try:
            namespace[name] = decode(answers[name], name, call_learner)
        except Exception as exc:
            namespace[name] = Unsendable(name, f"value that could not be rebuilt ({exc})")
