"""RPC with a deadline, inside services and outside them.

nameko's ``RpcProxy`` waits forever for a service that is down.  Here every call
has a timeout, and the request carries the same time-to-live, so a request nobody
answered in time is dropped by the broker instead of running late (a stale SMS).
A missed deadline becomes ``ServiceUnavailable``, which callers map to 503.
"""
from __future__ import annotations

import eventlet
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import RpcProxy, ServiceProxy
from nameko.standalone.rpc import StandaloneProxyBase

from shared.errors import ServiceUnavailable
from shared.settings import UsesSettings


def _unavailable(service: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"the {service} service did not answer in time; try again shortly")


def _not_running(service: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"the {service} service is not running (or still starting); try again shortly")


class _DeadlineMethod:
    def __init__(self, method_proxy, service: str, timeout: float):
        self.method_proxy = method_proxy
        self.service = service
        self.timeout = timeout

    def __call__(self, *args, **kwargs):
        # eventlet.Timeout is a BaseException that nameko does not catch: turn it
        # into our own error here, or an @http handler would never answer.
        deadline = eventlet.Timeout(self.timeout)
        try:
            return self.method_proxy.call_async(*args, **kwargs).result()
        except eventlet.Timeout as exc:
            if exc is not deadline:
                raise
            raise _unavailable(self.service) from None
        except UnknownService:
            raise _not_running(self.service) from None
        finally:
            deadline.cancel()


class _DeadlineServiceProxy(ServiceProxy):
    def __init__(self, *args, timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeout = timeout

    def __getattr__(self, name):
        return _DeadlineMethod(super().__getattr__(name), self.service_name, self.timeout)


class DeadlineRpcProxy(UsesSettings, RpcProxy):
    """``RpcProxy`` whose calls time out (default: the RPC_TIMEOUT_SECONDS setting)."""

    def __init__(self, target_service: str, timeout: float | None = None):
        super().__init__(target_service)
        self.timeout = timeout

    def setup(self):
        super().setup()
        if self.timeout is None:
            self.timeout = self.settings.rpc_timeout
        self.options["expiration"] = self.timeout

    def get_dependency(self, worker_ctx):
        return _DeadlineServiceProxy(
            worker_ctx,
            self.target_service,
            self.rpc_reply_listener,
            timeout=self.timeout,
            **self.options,
        )


class RpcClient:
    """A blocking RPC client for processes that are not nameko services (CLI, tests).

    Usage::

        with RpcClient(amqp_uri, timeout=10) as rpc:
            rpc.call("auth", "list_communities")
    """

    def __init__(self, amqp_uri: str, timeout: float = 10.0):
        self.timeout = timeout
        self._base = StandaloneProxyBase(
            {"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=timeout
        )

    def __enter__(self):
        self._base.start()
        return self

    def __exit__(self, *exc_info):
        self._base.stop()

    def call(self, service: str, method: str, **kwargs):
        # nameko's standalone proxies take no per-call options; build the
        # service proxy ourselves so the request carries a time-to-live.
        proxy = ServiceProxy(
            self._base._worker_ctx, service, self._base._reply_listener, expiration=self.timeout
        )
        try:
            return getattr(proxy, method)(**kwargs)
        except RpcTimeout:
            raise _unavailable(service) from None
        except UnknownService:
            raise _not_running(service) from None
