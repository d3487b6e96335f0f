"""Markdown: the block structure of a post's body (`document`) and its image embeds (`embeds`)."""
