"""nbgrader plug-ins, named in nbgrader_config.py and by ``course collect``."""
