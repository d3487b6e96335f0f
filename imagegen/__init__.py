"""imagegen: cover images for Markdown-in-git blogs from a chain of free image APIs."""

__version__ = "0.1.0"
