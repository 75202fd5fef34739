"""The states of an http mode client connection, shared by the modules that drive it.

Constants here and elsewhere on the data path are ``Final``: compiled, a ``Final`` name is
read from a C variable, any other global from the module's dictionary.
"""

from __future__ import annotations

from typing import Final

WAIT: Final = 0
CONNECTING: Final = 1
EXCHANGE: Final = 2
TUNNEL: Final = 3
