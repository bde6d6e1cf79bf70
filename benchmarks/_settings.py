"""The portal's settings plus one URL: the framework floor the pages benchmark compares against."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks._urls"
