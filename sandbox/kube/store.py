"""The stand-in's object store, and the label and field selectors of list requests.

Objects are JSON by resource, namespace and name; one global resourceVersion counter plays
etcd's revision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.kube.errors import bad_request
from sandbox.kube.resources import Resource

Object = dict[str, Any]
_SET_TERM = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_OPERATOR = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)\s*$")


class Store:
    """Objects in memory; every write gets the next resourceVersion."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], Object] = {}
        self._revision = 1000
        self._uids = 0

    @property
    def revision(self) -> str:
        """The resourceVersion of the latest write."""
        return str(self._revision)

    def new_uid(self) -> str:
        """A fresh object uid (UUID-shaped)."""
        self._uids += 1
        return f"5a4d0b1e-0000-4000-8000-{self._uids:012d}"

    def get(self, resource: Resource, namespace: str, name: str) -> Object | None:
        """A copy of the stored object, or None."""
        found = self._objects.get((resource.qualified, namespace, name))
        return _copy(found) if found is not None else None

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        where: Callable[[Object], bool] | None = None,
    ) -> list[Object]:
        """Copies of the objects of ``resource`` (in ``namespace``, passing ``where``), by name."""
        found = [
            _copy(obj)
            for (kind, ns, _), obj in self._objects.items()
            if kind == resource.qualified
            and (namespace is None or ns == namespace)
            and (where is None or where(obj))
        ]
        return sorted(found, key=lambda o: (o["metadata"].get("namespace", ""), _name(o)))

    def put(self, resource: Resource, obj: Object) -> Object:
        """Store ``obj`` with the next resourceVersion; return a copy as stored."""
        self._revision += 1
        obj = _copy(obj)
        obj["metadata"]["resourceVersion"] = str(self._revision)
        key = (resource.qualified, obj["metadata"].get("namespace", ""), _name(obj))
        self._objects[key] = obj
        return _copy(obj)

    def remove(self, resource: Resource, namespace: str, name: str) -> Object | None:
        """Delete and return the object, or None if there was none."""
        found = self._objects.pop((resource.qualified, namespace, name), None)
        if found is not None:
            self._revision += 1
        return found

    def trim(self, resource: Resource, keep: int) -> None:
        """Keep only the ``keep`` newest objects of ``resource`` (events)."""
        keys = [key for key in self._objects if key[0] == resource.qualified]
        keys.sort(key=lambda k: int(self._objects[k]["metadata"]["resourceVersion"]))
        for key in keys[: max(len(keys) - keep, 0)]:
            del self._objects[key]


def _copy(obj: Object) -> Object:
    """A deep copy of a JSON object (the C JSON codec is several times faster than deepcopy)."""
    copied: Object = json.loads(json.dumps(obj))
    return copied


def _name(obj: Object) -> str:
    return str(obj["metadata"]["name"])


def label_matcher(selector: str) -> Callable[[dict[str, str]], bool]:
    """A predicate over labels for a selector string: ``a=b,c!=d,e in (x,y),!f,g``."""
    terms = [_label_term(term) for term in _split(selector)]
    return lambda labels: all(term(labels) for term in terms)


def field_matcher(selector: str) -> Callable[[Object], bool]:
    """A predicate over an object for a field selector: ``spec.nodeName=x,metadata.name!=y``."""
    terms: list[Callable[[Object], bool]] = []
    for term in _split(selector):
        match = _OPERATOR.match(term)
        if not match:
            raise bad_request(f'invalid field selector: "{term}"')
        path, operator, wanted = match.groups()
        terms.append(_field_term(path.split("."), operator, wanted))
    return lambda obj: all(term(obj) for term in terms)


def matches_selector(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether ``labels`` match a LabelSelector object (matchLabels + matchExpressions).

    An empty or missing selector matches nothing, as for Services and PodDisruptionBudgets
    whose selector is unset.
    """
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in (values or []))
            or (operator == "NotIn" and present and labels[key] in (values or []))
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def selector_string(match_labels: dict[str, str]) -> str:
    """``a=b,c=d`` for a matchLabels map (as Scale.status.selector)."""
    return ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))


def walk(obj: Any, path: list[str]) -> Any:
    """The value at a dotted path of ``obj``, or None."""
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _split(selector: str) -> Iterator[str]:
    depth, start = 0, 0
    for index, char in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            if selector[start:index].strip():
                yield selector[start:index]
            start = index + 1
    if selector[start:].strip():
        yield selector[start:]


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    if match := _OPERATOR.match(term):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _SET_TERM.match(term)
    if not match:
        raise bad_request(f'unable to parse requirement: "{term}"')
    negated, key, operator, values = match.groups()
    if operator:
        options = {value.strip() for value in values.split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in options
        return lambda labels: labels.get(key) not in options
    if negated:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def _field_term(path: list[str], operator: str, wanted: str) -> Callable[[Object], bool]:
    def matches(obj: Object) -> bool:
        value = walk(obj, path)
        text = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
        return (text != wanted) if operator == "!=" else (text == wanted)

    return matches
