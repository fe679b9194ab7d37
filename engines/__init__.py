"""Framework-free ML and media code for EchOfU.

Nothing under this package imports Django: every entry point is a plain
function or small class that takes paths and a progress callback.
"""
