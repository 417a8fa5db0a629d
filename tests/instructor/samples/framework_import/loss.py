try:
    import torch  # noqa: F401
except ImportError:
    torch = None
# <<base>>
