"""Procomún's benchmarks: each measures the project beside the limit of the
layer underneath, in the same run (`make bench`, or `BENCH_QUICK=1 make bench`)."""
