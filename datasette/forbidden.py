"""Default plugin: the 403 response when a view raises `Forbidden`."""

from .hookspecs import hookimpl
from .views.errors import error_response


@hookimpl(trylast=True)
def forbidden(datasette, request, message):
    async def inner():
        return error_response(datasette, request, 403, message, title="Forbidden")

    return inner
