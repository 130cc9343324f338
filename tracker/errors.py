"""Errors that carry a message a person can act on: the floor every room may stand on (it
imports nothing of the project), so the command line and the code it calls share them."""


class ConfigError(ValueError):
    """A bad config value: names the file (config.toml until the loader knows which), the key
    and what is wrong."""

    def __init__(self, key: str, message: str, file: str = "config.toml"):
        super().__init__(f"{file}: {key}: {message}")
        self.key, self.message, self.file = key, message, file

    def in_file(self, file) -> "ConfigError":
        """The same error, naming the file it is in (a deployment has several)."""
        return ConfigError(self.key, self.message, str(file))


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit 2."""


class CommandFailed(Exception):
    """The command could not do what was asked (a server away, a file it cannot write):
    printed as one line that says why and what to do, exit 1."""
