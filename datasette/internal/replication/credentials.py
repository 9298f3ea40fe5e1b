"""Dynamic S3 credentials: a JSON file or a command printing JSON, re-read on an interval."""

from __future__ import annotations

import json
import subprocess
from typing import Optional

from .config import ReplicationConfig

KEYS = ("access-key-id", "secret-access-key", "session-token")


class CredentialsError(Exception):
    """Raised when credentials cannot be loaded; the message says from where and why."""


def load_credentials(config: ReplicationConfig, timeout: float = 30.0) -> dict:
    """The current credentials: dynamic ones when configured, else the static keys.

    :raises CredentialsError: the file or command failed or did not give the two keys
    """
    if config.credentials_file:
        source = f"credentials-file {config.credentials_file}"
        try:
            with open(config.credentials_file, encoding="utf-8") as fp:
                text = fp.read()
        except OSError as e:
            raise CredentialsError(f"Could not read {source}: {e.strerror}")
    elif config.credentials_command:
        source = f"credentials-command {config.credentials_command!r}"
        text = _run_command(config.credentials_command, source, timeout)
    else:
        return config.static_credentials()
    return _parse(text, source)


def _run_command(command: str, source: str, timeout: float) -> str:
    try:
        completed = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"{source} did not finish within {timeout:g}s")
    if completed.returncode != 0:
        detail = (completed.stderr or "").strip().splitlines()
        tail = f": {detail[-1]}" if detail else ""
        raise CredentialsError(f"{source} exited with status {completed.returncode}{tail}")
    return completed.stdout


def _parse(text: str, source: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        raise CredentialsError(f"{source} did not give JSON")
    if not isinstance(data, dict):
        raise CredentialsError(f"{source} must give a JSON object")
    missing = [key for key in KEYS[:2] if not isinstance(data.get(key), str) or not data[key]]
    if missing:
        raise CredentialsError(f"{source} gave no {missing[0]}")
    token: Optional[str] = data.get("session-token")
    credentials = {key: data[key] for key in KEYS[:2]}
    if token:
        credentials["session-token"] = str(token)
    return credentials


def credentials_environment(credentials: dict) -> dict:
    """Environment variables handing `credentials` to the Litestream child."""
    env = {}
    if credentials.get("access-key-id"):
        env["LITESTREAM_ACCESS_KEY_ID"] = credentials["access-key-id"]
        env["AWS_ACCESS_KEY_ID"] = credentials["access-key-id"]
    if credentials.get("secret-access-key"):
        env["LITESTREAM_SECRET_ACCESS_KEY"] = credentials["secret-access-key"]
        env["AWS_SECRET_ACCESS_KEY"] = credentials["secret-access-key"]
    if credentials.get("session-token"):
        env["AWS_SESSION_TOKEN"] = credentials["session-token"]
    return env
