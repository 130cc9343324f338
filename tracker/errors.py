"""Errors that carry a message a person can act on: the floor every room may stand on (it
imports nothing of the project), so the command line and the code it calls share them."""


class ConfigError(ValueError):
    """A bad config.toml value: names the key and what is wrong."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config.toml: {key}: {message}")
        self.key, self.message = key, message


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit 2."""
