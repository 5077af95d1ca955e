"""Kubernetes through the ``kubernetes`` client: the :class:`~bot.core.ports.Cluster` port."""

from bot.adapters.k8s.cluster import KubernetesCluster
from bot.adapters.k8s.connection import connect

__all__ = ["KubernetesCluster", "connect"]
