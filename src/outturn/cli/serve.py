"""``outturn serve`` (the web application) and ``outturn users`` (accounts that sign in to it)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from outturn.cli._common import cell, console, emit, emit_rows, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat
from outturn.domain.errors import BadInput
from outturn.services import users
from outturn.services.users import Role, UserError


@command(workspace_option=False)
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark cookies Secure: set this behind a TLS-terminating proxy")
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help="Address or network (10.0.0.0/8) of a reverse proxy whose X-Forwarded-For/-Proto headers are "
            "believed; repeat for more. None by default: the connection's own address is the client's"
        ),
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Start the web application on the workspace (sign in with an account from `outturn users add`).

    One process: the DuckDB warehouse admits one writer process at a time, so stop the server before running
    commands that write to the warehouse (imports of activity, prescribing, populations)."""
    import uvicorn

    with workspace_from(ctx) as workspace:
        path = workspace.path
        accounts = len(users.list_users(workspace))
    url = f"http://{host}:{port}/"
    document = {"url": url, "workspace": str(path), "users": accounts}
    emit(
        fmt,
        document,
        lambda: console.print(
            f"outturn on {url} (workspace {path}, {accounts} account(s)"
            + ("; add one with `outturn users add NAME --role finance`" if not accounts else "")
            + ")",
            highlight=False,
        ),
    )
    sys.stdout.flush()
    os.environ["OUTTURN_WORKSPACE"] = str(path)
    os.environ["OUTTURN_WEB_SECURE_COOKIES"] = "1" if secure_cookies else ""
    os.environ["OUTTURN_WEB_TRUSTED_PROXIES"] = ",".join(trusted_proxy or [])
    uvicorn.run(
        "outturn.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        proxy_headers=False,  # the application believes forwarded headers from --trusted-proxy only
        log_level="warning",
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@command(workspace_option=False)
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="User name to sign in with")],
    role: Annotated[
        Role,
        typer.Option(
            help="finance (edits), practice (own practice and PCN), board (reads), admin, budget_holder (own lines' "
            "commentary)"
        ),
    ],
    org: Annotated[str | None, typer.Option(help="The practice (ODS code) of a practice user")] = None,
    holder: Annotated[
        str | None, typer.Option(help="The budget holder a budget_holder user is, as the ledger's mapping names them")
    ] = None,
    name: Annotated[str, typer.Option(help="Name shown on the pages")] = "",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from the first line of standard input (else a prompt)")
    ] = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Create an account; the password (12 characters or more, not one of the commonest passwords) is stored only
    as an argon2 hash."""
    password = _read_password(password_stdin)
    with workspace_from(ctx) as workspace:
        try:
            user = users.add_user(
                workspace, username, password, role, org_code=org, display_name=name, budget_holder=holder
            )
        except UserError as error:
            raise BadInput(str(error)) from None
    document = {
        "username": user.username,
        "role": user.role.value,
        "org_code": user.org_code,
        "budget_holder": user.budget_holder,
    }
    emit(fmt, document, lambda: console.print(f"added {user.username} ({user.role.value})", highlight=False))


# look-alike of cli/imports.py:imports_list (shape only): Typer option declarations and a render, one per command.
@command(workspace_option=False)
def list_accounts(ctx: typer.Context, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """The accounts: user name, name shown, role and practice."""
    with workspace_from(ctx) as workspace:
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.value,
                "org_code": u.org_code,
                "budget_holder": u.budget_holder,
            }
            for u in users.list_users(workspace)
        ]
    emit_rows(
        fmt,
        rows,
        [
            ("user", cell("username")),
            ("name", cell("display_name")),
            ("role", cell("role")),
            ("practice", cell("org_code")),
            ("budget holder", cell("budget_holder")),
        ],
    )
