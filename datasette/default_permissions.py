"""Default plugin: the core permissions."""

from .hookspecs import hookimpl
from .permissions import CORE_PERMISSIONS


@hookimpl
def register_permissions():
    return list(CORE_PERMISSIONS)
