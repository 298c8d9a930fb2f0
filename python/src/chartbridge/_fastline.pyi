# The compiled Line and append (_fastline.pyx); their interface is documented in fastline.py.
from typing import Any

class Line:
    run: Any
    def __init__(self, run: Any, buffer: Any) -> None: ...

def append(line: Line, result: object) -> bool: ...
