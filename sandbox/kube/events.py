"""core/v1 Events that the stand-in's controllers record, aggregated as the real recorder does."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sandbox.kube.clocks import rfc3339
from sandbox.kube.resources import EVENTS
from sandbox.kube.store import Object, Store

MAX_EVENTS = 1000


class EventRecorder:
    """Writes Events; a repeat of (object, reason, message) bumps the count of the first."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def record(
        self, involved: Object, reason: str, message: str, *, type_: str = "Normal", component: str
    ) -> None:
        """Record that ``reason`` happened to ``involved`` (any stored object)."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        key = f"{involved['kind']}/{namespace}/{meta['name']}/{reason}/{message}"
        name = f"{meta['name']}.{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        now = rfc3339(self._clock())
        event = self._store.get(EVENTS, namespace, name)
        if event is None:
            event = {
                "kind": "Event",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": self._store.new_uid(),
                    "creationTimestamp": now,
                },
                "involvedObject": {
                    "kind": involved["kind"],
                    "namespace": meta.get("namespace", ""),
                    "name": meta["name"],
                    "uid": meta.get("uid", ""),
                    "apiVersion": involved.get("apiVersion", "v1"),
                    "resourceVersion": meta.get("resourceVersion", ""),
                },
                "reason": reason,
                "message": message,
                "source": {"component": component},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "type": type_,
                "reportingComponent": component,
                "reportingInstance": "",
            }
        else:
            event["count"] += 1
            event["lastTimestamp"] = now
        self._store.put(EVENTS, event)
        self._store.trim(EVENTS, MAX_EVENTS)
