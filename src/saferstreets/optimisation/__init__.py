"""Pure optimisation: placement (MCLP, p-median), apportionment, rollout, ward allocation, patrols.

Arrays in, typed results out; nothing here imports the store, the web or the CLI
(``tests/test_architecture.py`` checks it). The store-backed planning domain is
:mod:`saferstreets.planning`.
"""
