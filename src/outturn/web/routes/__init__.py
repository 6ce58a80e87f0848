"""One router per feature; ``ROUTERS`` is the order the application includes them."""

from outturn.web.routes import (
    auth,
    benchmarking,
    contracts,
    imports,
    overview,
    position,
    practices,
    savings,
    savings_api,
)

ROUTERS = (
    auth.router,
    overview.router,
    position.router,
    savings.router,
    savings_api.router,
    imports.router,
    practices.router,
    benchmarking.router,
    contracts.router,
)
