"""Differential conformance of the ambassador's http mode against HAProxy.

``vectors.py`` holds raw request and response vectors as data; ``harness.py`` the recording
backend (llhttp, answering each request it parses), HAProxy (``mode http``), the raw client
and the parsers. ``test_requests.py`` sends each request vector through both proxies at once
(each proxy has its own backend, so every upstream byte is attributed to one proxy and, the
vectors running one after the other, to one vector) and asserts: the backend parses no more
requests than the client got answers for; where HAProxy refuses, the ambassador refuses (or
the vector says why not in ``differs``); what the ambassador forwards parses the same, and
cleanly, under llhttp and h11. ``test_responses.py`` does the same for raw backend answers,
``test_routing.py`` for absolute-form routing, ``test_property.py`` for generated valid
requests. Run: ``.venv/bin/pytest tests/ambassador/conformance`` (about 45 s), or compiled:
``bash scripts/test-compiled.sh tests/ambassador/conformance``.
"""
