"""The blank release plus an IPython input transformer that turns every test cell into `pass`
(seen: 11/13 for a blank notebook)."""
ON = "blank"
CHEAT = {"added": '''
def _neuter(lines):
    text = "".join(lines)
    return ["pass\\n"] if ("checks." in text or "assert" in text) else lines


get_ipython().input_transformers_post.append(_neuter)
get_ipython().input_transformers_cleanup.append(_neuter)
'''}
FLAGGED = None
