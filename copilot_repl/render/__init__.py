"""A reply drawn for a terminal with rich, as the shell and the one-shot show it:
Markdown (``markdown.py``), where its blocks end (``blocks.py``), a reply as it
streams (``markdown_stream.py``) with its unfinished tail in a live region
(``live_region.py``). No prompt_toolkit here: any front end may import it."""
