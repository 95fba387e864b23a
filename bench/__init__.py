"""CoinSite benchmarks: `make bench` (python -m bench). Each figure is printed next to a
baseline measured in the same run, with the ratio; the table is also written to
bench-results/ so runs can be compared."""
