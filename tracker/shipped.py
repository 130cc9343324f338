"""What ships with the service besides its code: the mail and desk templates (templates/),
the example config (config.toml, which `escalations demo` starts from) and the desk's built
stylesheet (build/desk/, from `npm run build`).

In a checkout, and an editable install, they are where the repository keeps them. An
installed package (a wheel or `pip install .`: setup.py's build step) carries them inside
`tracker/`, as tracker/templates/, tracker/config.toml and tracker/desk/built/, so the service
runs from any folder. The floor, like tracker.errors: it imports nothing of the project.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _installed_or_checkout(installed: str, checkout: str) -> Path:
    inside = _PACKAGE / installed
    return inside if inside.exists() else _CHECKOUT / checkout


TEMPLATES = _installed_or_checkout("templates", "templates")
# Beside TEMPLATES in both layouts (tracker/ or the checkout's root): the demo finds it there.
EXAMPLE_CONFIG = _installed_or_checkout("config.toml", "config.toml")
DESK_ASSETS = _installed_or_checkout("desk/built", "build/desk")
