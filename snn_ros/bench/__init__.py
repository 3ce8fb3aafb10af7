"""Benchmarks (``snn-ros bench ...``): figures and ratios against peers run alongside."""
