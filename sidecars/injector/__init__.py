"""injector: a mutating admission webhook that adds helpers to Pods (sidecar injector)."""

from .helper import Injector
from .settings import InjectorSettings

__all__ = ["Injector", "InjectorSettings"]
