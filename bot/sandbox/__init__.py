"""The local Bot API server and the terminal sandbox built on it."""
