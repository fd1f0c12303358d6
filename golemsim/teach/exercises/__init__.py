"""One module of graders per notebook (nb01.py, nb02.py, ...): importing this package imports
each of them, in sorted name order, and so registers every exercise."""

import importlib
import pkgutil

for _module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
