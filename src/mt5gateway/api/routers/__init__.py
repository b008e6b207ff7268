"""One router per domain: ``health`` (public summary, metrics), ``market``, ``admin``, ``data``,
``accounts``, ``trading``, ``sync``, ``ws`` (the WebSocket and its status), and ``s4`` (the MT5 Bridge
Microservice's REST paths over the same services)."""
