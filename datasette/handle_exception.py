"""Default plugin: the last-resort handler that turns exceptions into error responses."""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from .exceptions import HttpError
from .hookspecs import hookimpl
from .views.errors import error_details, error_response

if TYPE_CHECKING:
    from .app import Datasette
    from .utils.asgi import Request, Response


@hookimpl(trylast=True)
def handle_exception(
    datasette: Datasette, request: Request, exception: BaseException
) -> Callable[[], Coroutine[Any, Any, Response]]:
    """The error page or JSON error; unexpected exceptions (not an `HttpError`) are
    printed to stderr first, and open the debugger under `--pdb`."""

    async def inner() -> Response:
        if not isinstance(exception, HttpError):
            if datasette.pdb:
                import pdb  # only under --pdb; pdb pulls in cmd, code, bdb (~5 ms per start)

                pdb.post_mortem(exception.__traceback__)
            traceback.print_exception(
                type(exception), exception, exception.__traceback__, file=sys.stderr
            )
        status, message, title, error_dict, is_html = error_details(exception)
        return await error_response(
            datasette, request, status, message, title, error_dict, is_html
        )

    return inner
