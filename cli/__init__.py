"""The ``nrmflow`` command line: a thin layer over the services, like ``web``."""
