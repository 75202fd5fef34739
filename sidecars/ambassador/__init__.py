"""ambassador: the app talks to localhost, the ambassador brokers the connection outwards."""

from .helper import Ambassador
from .settings import AmbassadorSettings

__all__ = ["Ambassador", "AmbassadorSettings"]
