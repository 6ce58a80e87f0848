"""One router per feature; ``ROUTERS`` is the order the application includes them."""

from outturn.web.routes import (
    auth,
    benchmarking,
    challenges,
    close,
    contracts,
    imports,
    overview,
    position,
    practices,
    preferences,
    prescribing,
    savings,
    savings_api,
    scenarios,
    users,
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
    challenges.router,
    prescribing.router,
    scenarios.router,
    close.router,
    users.router,
    preferences.router,
)
