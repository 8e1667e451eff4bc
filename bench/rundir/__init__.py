"""The run directory as an API: its file and column names, the structs its files hold, and their readers.

Importable without Locust: the Locust plugin writes these files, `bench run` finishes them,
`bench report`, `compare` and `sweep` read them, and the tests build them.
"""
