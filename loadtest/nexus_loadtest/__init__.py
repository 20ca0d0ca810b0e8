"""Load-test a running Nexus through its public API only: no Django, no
settings, nothing of the server installed (`pip install ./loadtest`, then
`nexus-loadtest --url …`). `run` drives the load and `cli` is the command."""

from .run import LoadTestError, Options, passed, run

__all__ = ["LoadTestError", "Options", "passed", "run"]
