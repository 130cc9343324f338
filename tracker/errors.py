"""Errors that carry a message a person can act on."""


class ConfigError(ValueError):
    """A bad config.toml value: names the key and what is wrong."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config.toml: {key}: {message}")
        self.key, self.message = key, message
