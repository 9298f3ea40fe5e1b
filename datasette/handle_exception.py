"""Default plugin: the last-resort handler that turns exceptions into error responses."""

import sys
import traceback

from .exceptions import Base400, DatasetteError
from .hookspecs import hookimpl
from .views.errors import error_details, error_response


@hookimpl(trylast=True)
def handle_exception(datasette, request, exception):
    async def inner():
        if not isinstance(exception, (Base400, DatasetteError)):
            if datasette.pdb:
                import pdb

                pdb.post_mortem(exception.__traceback__)
            traceback.print_exception(
                type(exception), exception, exception.__traceback__, file=sys.stderr
            )
        status, message, title, error_dict, is_html = error_details(exception)
        return await error_response(
            datasette, request, status, message, title, error_dict, is_html
        )

    return inner
