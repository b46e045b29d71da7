"""Benchmarks (`make bench`): each module measures one service and prints its figures."""
