"""The one thing pyproject.toml cannot say: the repository's templates/ and experiments/ folders ship inside
the wheel as golemsim/examples/templates and golemsim/examples/experiments (package data of two packages mapped
onto those folders), so that an installed golemsim runs its shipped apps and experiments with no checkout
around (``golemsim.locations``, ``golemsim examples DIR``). Which of their files ship is in pyproject.toml
(package-data); everything else is there too."""

import warnings

from setuptools import find_namespace_packages, setup

EXAMPLES = {"golemsim.examples.templates": "templates", "golemsim.examples.experiments": "experiments"}

# A template folder with a Python-named folder (counter/, counter/wit/) looks like a package to setuptools;
# it is data here (the template's sources), shipped by package-data, and never imported from the wheel.
warnings.filterwarnings("ignore", message=r"Package 'golemsim\.examples\.templates\..*' is absent")

setup(
    # As pyproject's packages.find did (namespaces on, so golemsim.guest and golemsim.core.wit are in).
    packages=[*find_namespace_packages(include=["golemsim*"]), *EXAMPLES],
    package_dir=EXAMPLES,
)
