"""Shared plumbing for the CNN course: data, profiles, training, metrics, plots and checks.

Notebooks import from here so that they can hold teaching, not boilerplate.
"""
from .config import Profile, get_profile, get_device, seed_everything, show_setup

__all__ = ["Profile", "get_profile", "get_device", "seed_everything", "show_setup"]
__version__ = "0.1.0"
