"""The NRM domain: roles, need-to-know rules, script helpers and demo data.

Only the pieces the engine's hooks need live here so far; the NRM library
issue fills in the rest.
"""
