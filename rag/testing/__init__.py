"""What the tests and the benchmarks share: fakes registered through the real interfaces, a
generated news corpus (so the suite needs no data beside the repository), and the harness
of the reliability runs (crash trials, load, hostile files, a served app).

Nothing here is imported by ``import rag``.
"""
