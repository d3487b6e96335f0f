"""imagegen: cover images for Markdown-in-git blogs, from a chain of image APIs or offline title cards."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imagegen")
except PackageNotFoundError:  # a source tree that was never installed (pip install -e . fixes it)
    __version__ = "0+unknown"
