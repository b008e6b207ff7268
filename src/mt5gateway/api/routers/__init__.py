"""One router per domain: ``health`` (public summary, metrics), ``market``, ``admin``."""
