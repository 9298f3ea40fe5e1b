"""The views: one module per family of pages. `Context` is the base of template contexts."""


class Context:
    """Base class for dataclass template contexts passed to `render_template`."""
