"""Developer tooling shared by tests, evaluation and benchmarks (not used at run time)."""
