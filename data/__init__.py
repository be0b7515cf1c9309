"""The seed files, shipped in the wheel as the package `heartstopper_seed` (see pyproject.toml),
so an installed bot finds them without a checkout. Only the JSON files are data."""
