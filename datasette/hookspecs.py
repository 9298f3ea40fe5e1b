"""The 28 plugin hooks of Datasette 1.0a7: names and parameters only.

Implementations receive keyword arguments and may accept any subset of them.
"""

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("datasette")
hookimpl = HookimplMarker("datasette")


@hookspec
def startup(datasette):
    """Run when the instance starts (after permissions and the Jinja environment)."""


@hookspec
def asgi_wrapper(datasette):
    """Return a function that wraps the ASGI application."""


@hookspec
def prepare_connection(conn, database, datasette):
    """Modify each new SQLite connection to a user database (custom SQL functions)."""


@hookspec
def prepare_jinja2_environment(env, datasette):
    """Modify the Jinja2 environment: filters, globals, tests."""


@hookspec
def extra_css_urls(template, database, table, columns, view_name, request, datasette):
    """Extra CSS URLs added to a rendered page."""


@hookspec
def extra_js_urls(template, database, table, columns, view_name, request, datasette):
    """Extra JavaScript URLs added to a rendered page."""


@hookspec
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    """Extra JavaScript emitted at the end of a rendered page's body."""


@hookspec
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    """Extra variables available to a template."""


@hookspec
def publish_subcommand(publish):
    """Add a subcommand to `datasette publish`."""


@hookspec
def render_cell(row, value, column, table, database, datasette, request):
    """Custom HTML for one table or query cell; the first non-None answer wins."""


@hookspec
def register_output_renderer(datasette):
    """Register an output format: a dict or list of dicts with extension and render."""


@hookspec
def register_facet_classes():
    """Register extra facet classes."""


@hookspec
def register_permissions(datasette):
    """Register permissions: a list of `Permission` objects."""


@hookspec
def register_routes(datasette):
    """Register URL routes: a list of `(regex, view)` pairs."""


@hookspec
def register_commands(cli):
    """Add commands to the `datasette` command line."""


@hookspec
def actor_from_request(datasette, request):
    """Return the actor making the request, or None."""


@hookspec(firstresult=True)
def actors_from_ids(datasette, actor_ids):
    """Return a dict mapping each actor id to an actor dict."""


@hookspec
def filters_from_request(request, database, table, datasette):
    """Return a `FilterArguments` adding where clauses to a table page."""


@hookspec
def permission_allowed(datasette, actor, action, resource):
    """True to allow, False to deny, None for no opinion; the last opinion wins."""


@hookspec
def canned_queries(datasette, database, actor):
    """Return canned queries for a database: `{name: sql or definition}`."""


@hookspec
def register_magic_parameters(datasette):
    """Return `(prefix, fn)` pairs for canned-query magic parameters."""


@hookspec
def forbidden(datasette, request, message):
    """Respond to a permission failure; return a Response or None."""


@hookspec
def menu_links(datasette, actor, request):
    """Links for the navigation menu: a list of `{href, label}`."""


@hookspec
def table_actions(datasette, actor, database, table, request):
    """Links for the table actions menu."""


@hookspec
def database_actions(datasette, actor, database, request):
    """Links for the database actions menu."""


@hookspec
def skip_csrf(datasette, scope):
    """Return True to skip CSRF protection for this request."""


@hookspec
def get_metadata(datasette, key, database, table):
    """Return metadata to merge under the local metadata."""


@hookspec
def handle_exception(datasette, request, exception):
    """Turn an exception into a Response; return None to let others try."""
