"""The version reported to clients and plugins.

It stays "1.0a7" because plugins declare `datasette>=1.0a6`-style requirements and read
`/-/versions.json`; this project tracks the 1.0a7 contract.
"""

__version__ = "1.0a7"
__version_info__ = tuple(__version__.split("."))
