"""The build step pyproject.toml cannot say on its own: the files the service ships that live
outside its Python packages in the repository (the layout is fixed) are put inside `tracker/`
in a wheel or a `pip install .`, where tracker/shipped.py looks for them first:

    templates/     -> tracker/templates/    the mail and desk templates
    config.toml    -> tracker/config.toml   the example config `escalations demo` starts from
    build/desk/    -> tracker/desk/built/   the desk's stylesheet, when `npm run build` made it

An editable install (`pip install -e .`) reads them from the checkout instead.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = (("templates", "tracker/templates"), ("config.toml", "tracker/config.toml"),
           ("build/desk", "tracker/desk/built"))


class BuildWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in SHIPPED:
            src, dst = Path(source), Path(self.build_lib) / target
            if src.is_dir():
                self.copy_tree(str(src), str(dst))
            elif src.is_file():
                self.mkpath(str(dst.parent))
                self.copy_file(str(src), str(dst))
            elif source == "templates" or source == "config.toml":
                raise SystemExit(f"setup.py: {source} is missing: build from a whole checkout")
            else:
                self.announce(f"{source} not built (npm ci && npm run build): the desk will have no stylesheet", 3)


setup(cmdclass={"build_py": BuildWithShipped})
