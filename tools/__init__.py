"""The project's tooling: execute notebooks, build the site, check content. Entry point: `python -m tools`."""
