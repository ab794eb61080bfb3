"""The endpoint's core: the WSGI gateway and its HTTP handler, request identification, and the
AWS error wire formats."""
