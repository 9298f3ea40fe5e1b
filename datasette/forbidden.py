"""Default plugin: the 403 response when a view raises `Forbidden`."""

from .hookspecs import hookimpl
from .utils.asgi import Response
from .views.errors import error_response, wants_json


@hookimpl(trylast=True)
def forbidden(datasette, request, message):
    async def inner():
        if wants_json(request) or not datasette._startup_invoked:
            return await error_response(datasette, request, 403, message, title="Forbidden")
        return Response.html(
            await datasette.render_template(
                "error.html",
                {"title": "Forbidden", "error": message},
                request=request,
            ),
            status=403,
        )

    return inner
