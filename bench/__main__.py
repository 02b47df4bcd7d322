"""``python -m bench``: the benchmark table (see ``bench/__init__.py``)."""
from . import main

main()
