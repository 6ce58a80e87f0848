"""One router per feature; ``ROUTERS`` is the order the application includes them."""

from outturn.web.routes import (
    auth,
    benchmarking,
    challenges,
    close,
    contracts,
    imports,
    overview,
    patients,
    position,
    practices,
    prescribing,
    savings,
    savings_api,
    scenarios,
)

ROUTERS = (
    auth.router,
    overview.router,
    position.router,
    savings.router,
    savings_api.router,
    imports.router,
    practices.router,
    patients.router,
    benchmarking.router,
    contracts.router,
    challenges.router,
    prescribing.router,
    scenarios.router,
    close.router,
)
