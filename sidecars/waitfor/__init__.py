"""waitfor: block until dependencies answer (init-container pattern)."""

from .helper import WaitFor
from .settings import WaitForSettings
from .targets import Target

__all__ = ["Target", "WaitFor", "WaitForSettings"]
