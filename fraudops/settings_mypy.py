"""The settings django-stubs loads for mypy: a type check runs where no secrets are set, so it
takes the development ones (DEBUG on), unless the environment says otherwise."""

import os

os.environ.setdefault("DEBUG", "1")

from fraudops.settings import *  # noqa: F403
