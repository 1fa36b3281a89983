"""zkactors as a deployable prover service (``pip install 'zkactors[service]'``).

:func:`create_app` builds the ASGI application (Starlette) around one
:class:`~zkactors.ZkRuntime`; ``zkactors serve`` runs it with uvicorn. See
``docs/service.md`` for the endpoints, limits, authentication and the dashboard.
"""

from zkactors.service.app import HTTPError, create_app
from zkactors.service.config import ServiceConfig, load_tokens

__all__ = ["HTTPError", "ServiceConfig", "create_app", "load_tokens"]
