"""Unit-test helpers for ``worker_factory`` services."""


class Worker:
    """Calls a ``worker_factory`` service like nameko runs a worker: one unit of work
    per call, the session closed (uncommitted work rolled back) afterwards."""

    def __init__(self, service, session):
        self.service, self.session = service, session

    def __getattr__(self, name):
        method = getattr(self.service, name)

        def call(*args, **kwargs):
            self.session.close()
            try:
                return method(*args, **kwargs)
            finally:
                self.session.close()

        return call
